import BridgeCore
import Foundation

/// A gateway opcode; values Discord adds later are kept as `unknown`.
public enum GatewayOpcode: Hashable, Sendable {
    case dispatch, heartbeat, identify, resume, reconnect, invalidSession, hello, heartbeatAck
    case unknown(Int)

    /// Maps a wire number to an opcode.
    public init(rawValue: Int) {
        switch rawValue {
        case 0: self = .dispatch
        case 1: self = .heartbeat
        case 2: self = .identify
        case 6: self = .resume
        case 7: self = .reconnect
        case 9: self = .invalidSession
        case 10: self = .hello
        case 11: self = .heartbeatAck
        default: self = .unknown(rawValue)
        }
    }
}

/// A Discord user, as far as the bridge needs it.
public struct DiscordUser: Hashable, Sendable, Decodable {
    /// Snowflake id.
    public var id: String
    /// Account name.
    public var username: String?
    /// Display name, when set.
    public var globalName: String?
    /// Whether the account is a bot.
    public var bot: Bool?

    enum CodingKeys: String, CodingKey { case id, username, bot, globalName = "global_name" }
}

/// A full message from MESSAGE_CREATE.
///
/// Its fields live in one copy-on-write box: the message is copied from the decoder through the gateway and the
/// proxy hold to its conversion, and inline each copy moved every field and retained every string.
public struct DiscordMessage: Hashable, Sendable, Decodable {
    /// The message's values.
    struct Fields: Hashable, Sendable {
        var id: String
        var channelId: String
        var guildId: String?
        var author: DiscordUser
        var content: String
        var webhookId: String?
        var mentions: [DiscordUser]?
        var referencedMessageId: String?
        var memberRoles: [String]?
        var memberNick: String?
        var mentionRoles: [String]
        var attachments: [DiscordAttachment] = []
        var timestamp: Date? = nil
    }

    private var fields: CopyOnWrite<Fields>

    /// Snowflake id.
    public var id: String {
        get { fields.value.id }
        set { fields.value.id = newValue }
    }
    /// Channel or thread id.
    public var channelId: String {
        get { fields.value.channelId }
        set { fields.value.channelId = newValue }
    }
    /// Guild id; nil in DMs.
    public var guildId: String? {
        get { fields.value.guildId }
        set { fields.value.guildId = newValue }
    }
    /// Author.
    public var author: DiscordUser {
        // Read in place: `message.author.x` then copies only `x`, not the whole user.
        _read { yield fields.value.author }
        set { fields.value.author = newValue }
    }
    /// Text (empty without the MESSAGE_CONTENT intent).
    public var content: String {
        get { fields.value.content }
        set { fields.value.content = newValue }
    }
    /// Set when a webhook sent the message.
    public var webhookId: String? {
        get { fields.value.webhookId }
        set { fields.value.webhookId = newValue }
    }
    /// Users mentioned.
    public var mentions: [DiscordUser]? {
        get { fields.value.mentions }
        set { fields.value.mentions = newValue }
    }
    /// The replied-to message id, if any.
    public var referencedMessageId: String? {
        get { fields.value.referencedMessageId }
        set { fields.value.referencedMessageId = newValue }
    }
    /// The author's guild role ids, when the message came with a `member` (guild messages on the gateway).
    public var memberRoles: [String]? {
        get { fields.value.memberRoles }
        set { fields.value.memberRoles = newValue }
    }
    /// The author's guild nickname, if set.
    public var memberNick: String? {
        get { fields.value.memberNick }
        set { fields.value.memberNick = newValue }
    }
    /// Role ids mentioned.
    public var mentionRoles: [String] {
        get { fields.value.mentionRoles }
        set { fields.value.mentionRoles = newValue }
    }
    /// Files attached (only set by the full decoder: the scanning fast path hands attachments to it).
    public var attachments: [DiscordAttachment] {
        get { fields.value.attachments }
        set { fields.value.attachments = newValue }
    }

    /// When Discord says it was posted (the payload's `timestamp`); nil when absent or not ISO 8601.
    public var timestamp: Date? {
        get { fields.value.timestamp }
        set { fields.value.timestamp = newValue }
    }

    enum CodingKeys: String, CodingKey {
        case id, author, content, mentions, member, attachments, timestamp
        case channelId = "channel_id", guildId = "guild_id", webhookId = "webhook_id"
        case messageReference = "message_reference", mentionRoles = "mention_roles"
    }
    struct Reference: Decodable { var message_id: String? }
    struct Member: Decodable { var roles: [String]?; var nick: String? }

    /// A message from already decoded fields (the scanning fast path).
    init(id: String, channelId: String, guildId: String?, author: DiscordUser, content: String, webhookId: String?,
         mentions: [DiscordUser]?, referencedMessageId: String?, memberRoles: [String]?, memberNick: String?,
         mentionRoles: [String], attachments: [DiscordAttachment] = [], timestamp: Date? = nil) {
        fields = CopyOnWrite(Fields(id: id, channelId: channelId, guildId: guildId, author: author, content: content, webhookId: webhookId,
                         mentions: mentions, referencedMessageId: referencedMessageId, memberRoles: memberRoles,
                         memberNick: memberNick, mentionRoles: mentionRoles, attachments: attachments, timestamp: timestamp))
    }

    /// Decodes tolerantly: only id, channel_id and author are required.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let member = try? c.decodeIfPresent(Member.self, forKey: .member)
        self.init(
            id: try c.decode(String.self, forKey: .id),
            channelId: try c.decode(String.self, forKey: .channelId),
            guildId: try? c.decodeIfPresent(String.self, forKey: .guildId),
            author: try c.decode(DiscordUser.self, forKey: .author),
            content: (try? c.decodeIfPresent(String.self, forKey: .content)) ?? "",
            webhookId: try? c.decodeIfPresent(String.self, forKey: .webhookId),
            mentions: try? c.decodeIfPresent([DiscordUser].self, forKey: .mentions),
            referencedMessageId: (try? c.decodeIfPresent(Reference.self, forKey: .messageReference))?.message_id,
            memberRoles: member?.roles,
            memberNick: member?.nick,
            mentionRoles: (try? c.decodeIfPresent([String].self, forKey: .mentionRoles)) ?? [],
            attachments: (try? c.decodeIfPresent([DiscordAttachment].self, forKey: .attachments)) ?? [],
            timestamp: (try? c.decodeIfPresent(String.self, forKey: .timestamp))
                .flatMap(ISO8601Timestamp.secondsSince1970(parsing:)).map(Date.init(timeIntervalSince1970:)))
    }

}

/// A message attachment: where the CDN serves it, its name and size.
public struct DiscordAttachment: Hashable, Sendable, Decodable {
    /// Snowflake id.
    public var id: String
    /// File name.
    public var filename: String
    /// Size in bytes.
    public var size: Int?
    /// Signed CDN URL.
    public var url: String
    /// MIME type, if Discord knows it.
    public var contentType: String?

    enum CodingKeys: String, CodingKey {
        case id, filename, size, url
        case contentType = "content_type"
    }
}

/// A MESSAGE_UPDATE: only id and channel_id are guaranteed.
public struct DiscordMessageUpdate: Hashable, Sendable, Decodable {
    /// Creates an update with only the required fields.
    public init(id: String, channelId: String, guildId: String? = nil, content: String? = nil, author: DiscordUser? = nil, webhookId: String? = nil) {
        self.id = id; self.channelId = channelId; self.guildId = guildId; self.content = content; self.author = author; self.webhookId = webhookId
    }
    /// Snowflake id.
    public var id: String
    /// Channel or thread id.
    public var channelId: String
    /// Guild id, if present.
    public var guildId: String?
    /// New content, if it changed.
    public var content: String?
    /// Author, if present.
    public var author: DiscordUser?
    /// Set for webhook messages.
    public var webhookId: String?

    enum CodingKeys: String, CodingKey {
        case id, content, author
        case channelId = "channel_id", guildId = "guild_id", webhookId = "webhook_id"
    }

    /// Decodes tolerantly; wrong-typed optional fields become nil.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(String.self, forKey: .id)
        channelId = try c.decode(String.self, forKey: .channelId)
        guildId = try? c.decodeIfPresent(String.self, forKey: .guildId)
        content = try? c.decodeIfPresent(String.self, forKey: .content)
        author = try? c.decodeIfPresent(DiscordUser.self, forKey: .author)
        webhookId = try? c.decodeIfPresent(String.self, forKey: .webhookId)
    }
}

/// A MESSAGE_DELETE.
public struct DiscordMessageDelete: Hashable, Sendable, Decodable {
    /// Deleted message id.
    public var id: String
    /// Its channel.
    public var channelId: String
    /// Its guild, if any.
    public var guildId: String?

    enum CodingKeys: String, CodingKey { case id, channelId = "channel_id", guildId = "guild_id" }
}

/// READY: the session to resume later.
public struct DiscordReady: Hashable, Sendable, Decodable {
    /// Session id for Resume.
    public var sessionId: String
    /// Where to reconnect for Resume.
    public var resumeGatewayURL: String?
    /// The bot user.
    public var user: DiscordUser
    /// Ids of the (still unavailable) guilds.
    public var guildIds: [String]
    /// The application id, when READY carries it.
    public var applicationId: String?

    enum CodingKeys: String, CodingKey { case user, guilds, application, sessionId = "session_id", resumeGatewayURL = "resume_gateway_url" }
    struct Guild: Decodable { var id: String }

    /// Decodes READY; guilds that fail to decode are skipped.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        sessionId = try c.decode(String.self, forKey: .sessionId)
        resumeGatewayURL = try? c.decodeIfPresent(String.self, forKey: .resumeGatewayURL)
        user = try c.decode(DiscordUser.self, forKey: .user)
        let guilds = (try? c.decodeIfPresent([Lossy<Guild>].self, forKey: .guilds)) ?? []
        guildIds = guilds.compactMap { $0.value?.id }
        applicationId = (try? c.decodeIfPresent(Guild.self, forKey: .application))?.id
    }
}

/// Decodes an element, or nil on failure, so one bad array entry does not fail the array.
struct Lossy<T: Decodable>: Decodable {
    let value: T?
    init(from decoder: any Decoder) throws { value = try? T(from: decoder) }
}

/// What a gateway payload means to the adapter.
public enum GatewayEvent: Hashable, Sendable {
    case hello(heartbeatInterval: Duration)
    case heartbeatRequest
    case heartbeatAck
    case reconnect
    case invalidSession(resumable: Bool)
    case ready(DiscordReady)
    case resumed
    case messageCreate(DiscordMessage)
    case messageUpdate(DiscordMessageUpdate)
    case messageDelete(DiscordMessageDelete)
    case guildCreate(DiscordGuild)
    /// CHANNEL_CREATE/UPDATE and THREAD_CREATE/UPDATE.
    case channelUpdate(DiscordChannel)
    /// THREAD_LIST_SYNC: the active threads of channels the bot gained access to.
    case threadListSync(DiscordThreadListSync)
    /// THREAD_DELETE: the thread is gone (only id, guild, parent and type are sent).
    case threadDelete(DiscordChannel)
    /// GUILD_ROLE_CREATE and GUILD_ROLE_UPDATE.
    case roleUpdate(DiscordRoleEvent)
    case roleDelete(DiscordRoleDelete)
    /// GUILD_MEMBER_UPDATE: a member's roles changed.
    case guildMemberUpdate(DiscordGuildMemberUpdate)
    /// GUILD_UPDATE: owner or roles changed.
    case guildUpdate(DiscordGuild)
    case interactionCreate(DiscordInteraction)
    /// MESSAGE_REACTION_ADD: a reaction on a message (the reply controls when `controls = "reactions"`).
    case reactionAdd(DiscordReactionAdd)
    /// A dispatch whose type this adapter does not handle.
    case unknownDispatch(String)
    /// An opcode this adapter does not know (or a client-only opcode sent to us).
    case unknownOpcode(Int)
}

extension GatewayEvent {
    /// Whether this is a new message: the chatter a read loop hands on in runs.
    var isMessageCreate: Bool {
        if case .messageCreate = self { true } else { false }
    }
}

/// One decoded gateway payload.
public struct GatewayPayload: Hashable, Sendable {
    /// The opcode.
    public var op: GatewayOpcode
    /// Sequence number, dispatches only.
    public var s: Int?
    /// Dispatch type name, dispatches only.
    public var t: String?
    /// The decoded meaning.
    public var event: GatewayEvent
}

/// A payload that could not be decoded; the connection continues.
public struct GatewayDecodeError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Failure kind.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let raw: String
        /// Not JSON, or not an object with an integer `op`.
        public static let invalidEnvelope = Code(raw: "invalidEnvelope")
        /// The `d` field did not match the event's shape.
        public static let invalidData = Code(raw: "invalidData")
        /// The raw code name.
        public var description: String { raw }
    }
    /// Failure kind.
    public let code: Code
    /// Opcode, when the envelope decoded.
    public let op: Int?
    /// Dispatch type, when known.
    public let eventType: String?
    /// Short context (never the payload itself, which may hold user text).
    public let message: String

    /// A one-line summary.
    public var description: String {
        "GatewayDecodeError.\(code) op=\(op.map(String.init) ?? "-") t=\(eventType ?? "-"): \(message)"
    }
}

/// The whole payload in one decoding pass: the envelope's `op`/`t` pick the type `d` is decoded as, from the
/// same parsed object, so a payload's JSON is parsed once.
private struct WholePayload: Decodable {
    var op: Int
    var s: Int?
    var t: String?
    var event: GatewayEvent

    enum CodingKeys: String, CodingKey { case op, s, t, d }

    init(from decoder: any Decoder) throws {
        let c: KeyedDecodingContainer<CodingKeys>
        do {
            c = try decoder.container(keyedBy: CodingKeys.self)
            op = try c.decode(Int.self, forKey: .op)
        } catch {
            throw GatewayDecodeError(code: .invalidEnvelope, op: nil, eventType: nil, message: "not a gateway envelope")
        }
        s = try? c.decodeIfPresent(Int.self, forKey: .s)
        t = try? c.decodeIfPresent(String.self, forKey: .t)
        let (op, t) = (op, t)
        func payload<D: Decodable>(_ type: D.Type) throws(GatewayDecodeError) -> D {
            do {
                return try c.decode(D.self, forKey: .d)
            } catch {
                throw GatewayDecodeError(code: .invalidData, op: op, eventType: t, message: "d does not match \(D.self)")
            }
        }
        switch GatewayOpcode(rawValue: op) {
        case .hello:
            let hello = try payload(HelloData.self)
            guard hello.heartbeat_interval > 0 else {
                throw GatewayDecodeError(code: .invalidData, op: op, eventType: nil, message: "heartbeat_interval must be positive")
            }
            event = .hello(heartbeatInterval: .milliseconds(hello.heartbeat_interval))
        case .heartbeat: event = .heartbeatRequest
        case .heartbeatAck: event = .heartbeatAck
        case .reconnect: event = .reconnect
        case .invalidSession: event = .invalidSession(resumable: (try? payload(Bool.self)) ?? false)
        case .dispatch:
            switch t {
            case "READY": event = .ready(try payload(DiscordReady.self))
            case "RESUMED": event = .resumed
            case "MESSAGE_CREATE": event = .messageCreate(try payload(DiscordMessage.self))
            case "MESSAGE_UPDATE": event = .messageUpdate(try payload(DiscordMessageUpdate.self))
            case "MESSAGE_DELETE": event = .messageDelete(try payload(DiscordMessageDelete.self))
            case "GUILD_CREATE": event = .guildCreate(try payload(DiscordGuild.self))
            case "CHANNEL_CREATE", "CHANNEL_UPDATE", "THREAD_CREATE", "THREAD_UPDATE":
                event = .channelUpdate(try payload(DiscordChannel.self))
            case "THREAD_LIST_SYNC": event = .threadListSync(try payload(DiscordThreadListSync.self))
            case "THREAD_DELETE": event = .threadDelete(try payload(DiscordChannel.self))
            case "GUILD_ROLE_CREATE", "GUILD_ROLE_UPDATE": event = .roleUpdate(try payload(DiscordRoleEvent.self))
            case "GUILD_ROLE_DELETE": event = .roleDelete(try payload(DiscordRoleDelete.self))
            case "GUILD_MEMBER_UPDATE": event = .guildMemberUpdate(try payload(DiscordGuildMemberUpdate.self))
            case "GUILD_UPDATE": event = .guildUpdate(try payload(DiscordGuild.self))
            case "INTERACTION_CREATE": event = .interactionCreate(try payload(DiscordInteraction.self))
            case "MESSAGE_REACTION_ADD": event = .reactionAdd(try payload(DiscordReactionAdd.self))
            case let name?: event = .unknownDispatch(name)
            case nil:
                throw GatewayDecodeError(code: .invalidEnvelope, op: 0, eventType: nil, message: "dispatch without t")
            }
        case .identify, .resume, .unknown:
            event = .unknownOpcode(op)
        }
    }
}

private struct HelloData: Decodable { var heartbeat_interval: Int }

extension GatewayPayload {
    /// Decodes one complete JSON gateway payload (one JSON parse): MESSAGE_CREATE by scanning for the fields the
    /// bridge reads, everything else (and any MESSAGE_CREATE the scan does not take) with `JSONDecoder`.
    public static func decode(_ bytes: [UInt8]) throws(GatewayDecodeError) -> GatewayPayload {
        if let message = scanMessageCreate(bytes) { return message }
        return try decodeWithJSONDecoder(bytes)
    }

    /// The same for bytes the caller lends (an inflater's reused buffer); `strings` keeps the ids and names the
    /// connection's payloads repeat.
    static func decode(_ bytes: UnsafeBufferPointer<UInt8>, strings: GatewayStringCache?) throws(GatewayDecodeError) -> GatewayPayload {
        if let message = scanMessageCreate(bytes, strings: strings) { return message }
        return try decodeWithJSONDecoder(Array(bytes))
    }

    /// The general path: the whole payload through `JSONDecoder` (tests compare the scan against it).
    static func decodeWithJSONDecoder(_ bytes: [UInt8]) throws(GatewayDecodeError) -> GatewayPayload {
        let whole: WholePayload
        do {
            whole = try JSONDecoder().decode(WholePayload.self, from: Data(bytes))
        } catch let error as GatewayDecodeError {
            throw error
        } catch {
            throw GatewayDecodeError(code: .invalidEnvelope, op: nil, eventType: nil, message: "not a gateway envelope")
        }
        return GatewayPayload(op: GatewayOpcode(rawValue: whole.op), s: whole.s, t: whole.t, event: whole.event)
    }
}

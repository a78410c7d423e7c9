import Foundation
import ServiceLifecycle

/// The outgoing side of an adapter: what replies and commands use, with each channel's live edit budget.
public protocol PlatformSender: AnyObject, Sendable {
    /// Short platform name used in channel keys and logs, e.g. `discord`.
    var platformName: String { get }
    /// What the platform can do; constant for the adapter's lifetime.
    var capabilities: PlatformCapabilities { get }
    /// Live per-channel edit budgets, updated by the adapter from rate-limit feedback; platforms that cannot
    /// edit need not declare one.
    var editBudgets: EditBudgetBoard { get }

    /// Sends a message, optionally as a reply and under a persona identity.
    func send(_ text: String, in channel: ChannelRef, replyTo: String?, as identity: PersonaIdentity?) async throws -> SentMessageRef
    /// Replaces the text of a message this bot sent.
    func edit(_ message: SentMessageRef, text: String) async throws
    /// Shows a typing indicator where supported; failures are ignored.
    func typing(in channel: ChannelRef) async
    /// Whether a user may change the bridge's settings in a channel.
    func isModerator(_ user: ChatUser, in channel: ChannelRef) async -> Bool

    /// Downloads an attachment of a message this platform delivered, refusing more than `maxBytes`.
    func download(_ attachment: ChatAttachment, maxBytes: Int) async throws -> [UInt8]
    /// Whether the platform itself marks the channel age-restricted (Discord `nsfw`); defaults to `false`.
    func allowsMatureContent(in channel: ChannelRef) async -> Bool
}

/// The incoming side of an adapter: platform events (interactions included) and their acknowledgement.
public protocol PlatformEventSource: AnyObject, Sendable {
    /// Platform-neutral events as they arrive, bounded so a consumer that falls behind slows the adapter's read
    /// loop instead of growing memory; the queue ends when the connection stops for good.
    var events: BoundedEventQueue<PlatformEvent> { get }
    /// Called once Core has completely handled an event from `events`, so an adapter can persist its
    /// position (Matrix `next_batch`) only past handled events; defaults to doing nothing.
    func handled(_ event: PlatformEvent) async
    /// Acknowledges several handled events, in order (a flood's chatter is acknowledged a batch at a time);
    /// defaults to `handled(_:)` for each.
    func handled(_ events: [PlatformEvent]) async
}

/// A chat network connection: the seam every adapter (Discord, IRC, Matrix, console, in-memory) implements.
/// Its three roles: the event source the Router reads, the sender replies go through, and the `Service` whose
/// `run()` holds the connection.
public protocol ChatPlatform: PlatformEventSource, PlatformSender, Service {
    /// Whether the adapter is connected and able to send (drives `/readyz`); defaults to `true`.
    /// Read from the metrics server's thread: keep it a cheap, non-blocking read.
    var isConnected: Bool { get }
}

extension ChatPlatform {
    /// Adapters without a connection of their own are always ready.
    public var isConnected: Bool { true }
}

extension PlatformSender {
    /// A platform that cannot edit (IRC) has no budget of its own: the conservative default, which its channels'
    /// schedulers only read for first-message order (each keeps the board it was given).
    public var editBudgets: EditBudgetBoard { EditBudgetBoard() }
}

extension PlatformEventSource {
    /// Adapters that keep no stream position ignore acknowledgements.
    public func handled(_ event: PlatformEvent) async {}

    /// Each event in turn.
    public func handled(_ events: [PlatformEvent]) async {
        for event in events { await handled(event) }
    }
}

/// A channel on some platform.
///
/// Its fields live in one shared box, copied on write: every message carries one, and the router, the recorder and
/// the adapter's acknowledgements copy it several times per message, which inline retained each of its strings.
public struct ChannelRef: Hashable, Sendable, CustomStringConvertible {
    /// The reference's values.
    struct Fields: Sendable {
        var platform: String
        var channelID: String
        var serverID: String?
        var channelName: String?
        var serverName: String?
        var parentID: String?
        var isDirect: Bool
        var sceneOwner: String?
        var linkedScene: String?
        var key = ""
    }

    private var fields: CopyOnWrite<Fields>

    /// Platform name, e.g. `discord`, `irc`, `matrix`, `console`.
    public var platform: String {
        get { fields.value.platform }
        set { change { $0.platform = newValue } }
    }
    /// Platform channel id (Discord channel snowflake, IRC `#channel`, Matrix room id).
    public var channelID: String {
        get { fields.value.channelID }
        set { change { $0.channelID = newValue } }
    }
    /// Server/guild/network id, where the platform has one.
    public var serverID: String? {
        get { fields.value.serverID }
        set { change { $0.serverID = newValue } }
    }
    /// Human channel name, for the `group` role.
    public var channelName: String? {
        get { fields.value.channelName }
        set { fields.value.channelName = newValue }
    }
    /// Human server name, for the `group` role.
    public var serverName: String? {
        get { fields.value.serverName }
        set { fields.value.serverName = newValue }
    }
    /// The channel a thread belongs to: its binding and stored settings apply where the thread has none of its
    /// own (history and memory stay the thread's, under its own key). Not part of the key.
    public var parentID: String? {
        get { fields.value.parentID }
        set { fields.value.parentID = newValue }
    }
    /// A one-to-one conversation with the bridge (a Discord DM, a Matrix direct room, an IRC private message):
    /// only `[platforms.*] dm_personas` answer there. Not part of the key.
    public var isDirect: Bool {
        get { fields.value.isDirect }
        set { fields.value.isDirect = newValue }
    }
    /// Whose private scene this is, where the channel id is only a name someone else may take later (an IRC nick):
    /// part of the key, so a new holder of the nick never gets the previous one's conversation.
    public var sceneOwner: String? {
        get { fields.value.sceneOwner }
        set { change { $0.sceneOwner = newValue } }
    }

    /// Creates a channel reference.
    public init(platform: String, channelID: String, serverID: String? = nil, channelName: String? = nil, serverName: String? = nil,
                parentID: String? = nil, isDirect: Bool = false) {
        var fields = Fields(platform: platform, channelID: channelID, serverID: serverID, channelName: channelName,
                            serverName: serverName, parentID: parentID, isDirect: isDirect)
        fields.key = Self.key(of: fields)
        self.fields = CopyOnWrite(fields)
    }

    /// Changes a field the key is made from, and the key with it.
    private mutating func change(_ body: (inout Fields) -> Void) {
        body(&fields.value)
        fields.value.key = Self.key(of: fields.value)
    }

    /// The parent channel of a thread, on the same platform and server; nil for other channels.
    public var parent: ChannelRef? {
        guard let parentID, parentID != channelID else { return nil }
        return ChannelRef(platform: platform, channelID: parentID, serverID: serverID, serverName: serverName)
    }

    /// The linked scene (`[[scenes]]`) the channel belongs to, set by the router: then history, settings, memory
    /// and budgets are the scene's, shared by its channels, and `key` is the scene's. Part of the key.
    public var linkedScene: String? {
        get { fields.value.linkedScene }
        set { change { $0.linkedScene = newValue } }
    }

    /// Stable key for storage: `platform:server:channel` (`…:channel~owner` for a scene owned by one user), or
    /// `scene::name` for a linked scene's channel; display names are not part of it.
    /// Kept, not computed: the router reads it several times per message (and `==` and `hash` use it), and
    /// building the string each time was a measurable part of recording chatter.
    public var key: String { fields.value.key }

    private static func key(of fields: Fields) -> String {
        fields.linkedScene.map { "scene::" + $0 } ?? platformKey(of: fields)
    }

    /// The key of the platform's channel itself, linked scene or not: what its own delivery (edit pacing) goes by.
    public var platformKey: String { Self.platformKey(of: fields.value) }

    private static func platformKey(of fields: Fields) -> String {
        // Joined by hand: string interpolation cost several times as much, for every channel reference made.
        let server = fields.serverID ?? ""
        var key = ""
        key.reserveCapacity(fields.platform.utf8.count + server.utf8.count + fields.channelID.utf8.count
                            + (fields.sceneOwner?.utf8.count ?? -1) + 3)
        key += fields.platform
        key += ":"
        key += server
        key += ":"
        key += fields.channelID
        if let sceneOwner = fields.sceneOwner {
            key += "~"
            key += sceneOwner
        }
        return key
    }

    /// The channel id as storage keys it: with the scene's owner, when it has one.
    public var storageID: String { sceneOwner.map { channelID + "~" + $0 } ?? channelID }

    /// The key, for logs.
    public var description: String { key }

    /// Equal when the keys are equal: display names may change while the channel stays the same.
    public static func == (lhs: ChannelRef, rhs: ChannelRef) -> Bool { lhs.key == rhs.key }
    /// Hashes the key only, consistent with `==`.
    public func hash(into hasher: inout Hasher) { hasher.combine(key) }
}

/// A message author.
public struct ChatUser: Hashable, Sendable {
    /// Platform user id.
    public var id: String
    /// Name shown in the channel.
    public var displayName: String
    /// Whether the author is a bot (or a webhook persona).
    public var isBot: Bool
    /// Who the author is where `id` is only a name anyone may take (IRC nicks): `account:<services account>` from
    /// the message's own account tag, else `host:<user@host>`. Budgets and config admins use it instead of `id`.
    public var stableID: String?

    /// Creates a user.
    public init(id: String, displayName: String, isBot: Bool = false, stableID: String? = nil) {
        self.id = id
        self.displayName = displayName
        self.isBot = isBot
        self.stableID = stableID
    }

    /// The identity budgets and admin lists are keyed by: `stableID` where the platform gives one, else `id`.
    public var identity: String { stableID ?? id }
}

/// A message as the platform delivered it.
///
/// Its fields live in one shared box, copied on write: a message is copied at every step between the socket and
/// history (event queue, router, recorder), and inline each copy moved some 300 bytes and retained every one of its
/// strings.
public struct IncomingMessage: Hashable, Sendable {
    /// The message's values.
    struct Fields: Hashable, Sendable {
        var channel: ChannelRef
        var author: ChatUser
        var messageID: String
        var text: String
        var replyTo: String?
        var mentionsUs: Bool
        var isOwnMessage: Bool
        var personaName: String?
        var timestamp: Date?
        var attachments: [ChatAttachment] = []
        var relayedBy: ChatUser? = nil
        var creditedName: String? = nil
    }

    private var fields: CopyOnWrite<Fields>

    /// Where it was posted.
    public var channel: ChannelRef {
        // Read in place: `message.channel.x` then copies only `x`, not the whole value and its strings.
        _read { yield fields.value.channel }
        set { fields.value.channel = newValue }
    }
    /// Who posted it.
    public var author: ChatUser {
        // Read in place: `message.author.x` then copies only `x`, not the whole value and its strings.
        _read { yield fields.value.author }
        set { fields.value.author = newValue }
    }
    /// Platform message id.
    public var messageID: String {
        get { fields.value.messageID }
        set { fields.value.messageID = newValue }
    }
    /// Plain text (adapters convert platform markup).
    public var text: String {
        get { fields.value.text }
        set { fields.value.text = newValue }
    }
    /// The message this one replies to, if any.
    public var replyTo: String? {
        get { fields.value.replyTo }
        set { fields.value.replyTo = newValue }
    }
    /// Whether it mentions this bridge's account.
    public var mentionsUs: Bool {
        get { fields.value.mentionsUs }
        set { fields.value.mentionsUs = newValue }
    }
    /// Whether this bridge sent it (echo of our own send).
    public var isOwnMessage: Bool {
        get { fields.value.isOwnMessage }
        set { fields.value.isOwnMessage = newValue }
    }
    /// Persona name, when the message is our own and the adapter can tell which persona sent it.
    public var personaName: String? {
        get { fields.value.personaName }
        set { fields.value.personaName = newValue }
    }
    /// When the platform says it was posted (IRC `server-time`, the Discord payload's `timestamp`); `nil` means "now".
    public var timestamp: Date? {
        get { fields.value.timestamp }
        set { fields.value.timestamp = newValue }
    }
    /// Files attached to the message (card imports read them).
    public var attachments: [ChatAttachment] {
        get { fields.value.attachments }
        set { fields.value.attachments = newValue }
    }
    /// The relay bot this message came through (`[platforms.*] relays`); `author` is then the real speaker as the
    /// relay named them (id `relay:<relay identity>:<nick>`, not a bot). Such a message may trigger a reply and is
    /// not a bot turn, but never runs commands.
    public var relayedBy: ChatUser? {
        get { fields.value.relayedBy }
        set { fields.value.relayedBy = newValue }
    }
    /// The name history and the prompt credit when it differs from `author.displayName` (a PluralKit member);
    /// `author` stays the real user (permissions, budgets, players).
    public var creditedName: String? {
        get { fields.value.creditedName }
        set { fields.value.creditedName = newValue }
    }

    /// Creates an incoming message.
    public init(channel: ChannelRef, author: ChatUser, messageID: String, text: String, replyTo: String? = nil,
                mentionsUs: Bool = false, isOwnMessage: Bool = false, personaName: String? = nil,
                timestamp: Date? = nil) {
        fields = CopyOnWrite(Fields(channel: channel, author: author, messageID: messageID, text: text, replyTo: replyTo,
                         mentionsUs: mentionsUs, isOwnMessage: isOwnMessage, personaName: personaName, timestamp: timestamp))
    }

}

/// An event from a platform.
///
/// An event is copied several times on its way (queue, batch, acknowledgement), so each case is one reference: a new
/// message is its own box already, and the rarer cases are boxed here. An event is then a word, and a new message
/// costs no allocation of its own.
public enum PlatformEvent: Hashable, Sendable {
    /// A new message.
    case messageCreated(IncomingMessage)
    /// A message's text changed; `editorID` is who changed it (only the original speaker's edits are applied).
    indirect case messageEdited(channel: ChannelRef, messageID: String, newText: String, editorID: String)
    /// A message was removed.
    indirect case messageDeleted(channel: ChannelRef, messageID: String)
    /// The people in a channel, where the platform tells us.
    indirect case membership(channel: ChannelRef, members: [ChatUser])
    /// A command invoked through the platform's own interface (a Discord slash command), answered through its
    /// responder rather than posted in the channel.
    indirect case interaction(InteractionRequest)
}

/// A command the platform delivered as an interaction, with the way back to the one who invoked it.
public struct InteractionRequest: Hashable, Sendable {
    /// The platform's id of the interaction (equality and hashing go by it).
    public var id: String
    /// The command invoked.
    public var command: BridgeCommand
    /// Who invoked it.
    public var user: ChatUser
    /// Where it was invoked.
    public var channel: ChannelRef
    /// The message whose control was pressed (a button or a reaction), when the command came from one: it must
    /// be the channel's latest reply.
    public var targetMessageID: String?
    /// Receives the command's answers; called exactly once by the router, and returns once the platform has them.
    public let respond: @Sendable (InteractionOutcome) async -> Void

    /// Creates a request.
    public init(id: String, command: BridgeCommand, user: ChatUser, channel: ChannelRef, targetMessageID: String? = nil,
                respond: @escaping @Sendable (InteractionOutcome) async -> Void) {
        self.id = id
        self.command = command
        self.user = user
        self.channel = channel
        self.targetMessageID = targetMessageID
        self.respond = respond
    }

    /// Requests are equal when they are the same interaction.
    public static func == (lhs: InteractionRequest, rhs: InteractionRequest) -> Bool { lhs.id == rhs.id }
    /// Hashes the interaction id.
    public func hash(into hasher: inout Hasher) { hasher.combine(id) }
}

/// The identity a reply is sent under (webhook name/avatar, or a prefix on platforms without identities).
public struct PersonaIdentity: Hashable, Sendable {
    /// Persona id.
    public var name: String
    /// Name shown to users.
    public var displayName: String
    /// Avatar image URL.
    public var avatarURL: String?
    /// The avatar image itself (PNG), when there is no public URL (an imported card's picture): Discord sets it
    /// on the channel webhook when it creates one.
    public var avatarImage: [UInt8]?

    /// Creates an identity.
    public init(name: String, displayName: String, avatarURL: String? = nil) {
        self.name = name
        self.displayName = displayName
        self.avatarURL = avatarURL
    }
}

/// What an adapter needs, beyond the message id, to edit a message it sent; each adapter defines its own type
/// (Discord: plain, name-prefixed or webhook message; Matrix: the event's transaction id base).
public protocol SentMessageKind: Hashable, Sendable {}

/// A message the bridge sent, as needed to edit it later.
public struct SentMessageRef: Hashable, Sendable {
    /// Channel it was sent to.
    public var channel: ChannelRef
    /// Platform message id.
    public var messageID: String
    /// The adapter's own description of the message; nil for a plain message.
    public var kind: (any SentMessageKind)?

    /// Creates a reference.
    public init(channel: ChannelRef, messageID: String, kind: (any SentMessageKind)? = nil) {
        self.channel = channel
        self.messageID = messageID
        self.kind = kind
    }

    /// The adapter's kind, if it is of type `K`.
    public func kind<K: SentMessageKind>(as type: K.Type) -> K? { kind as? K }

    /// References are equal when channel, id and kind are.
    public static func == (lhs: SentMessageRef, rhs: SentMessageRef) -> Bool {
        lhs.channel == rhs.channel && lhs.messageID == rhs.messageID
            && lhs.kind.map { AnyHashable($0) } == rhs.kind.map { AnyHashable($0) }
    }

    /// Hashes channel, id and kind.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(channel)
        hasher.combine(messageID)
        hasher.combine(kind.map { AnyHashable($0) })
    }
}

/// What a platform supports.
public struct PlatformCapabilities: Hashable, Sendable {
    /// How `maxLength` is counted.
    public enum LengthUnit: Hashable, Sendable {
        /// Unicode characters (grapheme clusters).
        case characters
        /// UTF-8 bytes.
        case utf8Bytes
    }

    /// Markup the platform renders.
    public enum TextFormat: Hashable, Sendable {
        /// Discord/console Markdown.
        case markdown
        /// IRC control codes.
        case irc
        /// Matrix `org.matrix.custom.html`.
        case matrixHTML
        /// Plain text.
        case plain
    }

    /// Whether sent messages can be edited.
    public var canEdit: Bool
    /// Longest message, in `lengthUnit`.
    public var maxLength: Int
    /// Unit of `maxLength`.
    public var lengthUnit: LengthUnit
    /// Markup format.
    public var textFormat: TextFormat
    /// Whether each message can carry its own name/avatar (webhooks).
    public var perMessageIdentities: Bool

    /// Creates capabilities.
    public init(canEdit: Bool, maxLength: Int, lengthUnit: LengthUnit = .characters, textFormat: TextFormat = .markdown,
                perMessageIdentities: Bool = false) {
        self.canEdit = canEdit
        self.maxLength = maxLength
        self.lengthUnit = lengthUnit
        self.textFormat = textFormat
        self.perMessageIdentities = perMessageIdentities
    }

    /// The splitter limit these capabilities imply.
    public var lengthLimit: MessageSplitter.Limit {
        switch lengthUnit {
        case .characters: .characters(maxLength)
        case .utf8Bytes: .utf8Bytes(maxLength)
        }
    }
}

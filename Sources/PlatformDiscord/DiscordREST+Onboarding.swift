import Foundation

/// Application flags from `GET /oauth2/applications/@me` that tell whether the Message Content intent is enabled.
public struct DiscordApplicationFlags: OptionSet, Hashable, Sendable {
    /// The raw bit set.
    public let rawValue: Int
    /// Creates flags from bits.
    public init(rawValue: Int) { self.rawValue = rawValue }
    /// GATEWAY_MESSAGE_CONTENT (1 << 18): the intent is on for a verified bot (100+ servers).
    public static let gatewayMessageContent = DiscordApplicationFlags(rawValue: 1 << 18)
    /// GATEWAY_MESSAGE_CONTENT_LIMITED (1 << 19): the intent is on for a bot in fewer than 100 servers.
    public static let gatewayMessageContentLimited = DiscordApplicationFlags(rawValue: 1 << 19)

    /// Whether the gateway will accept the MESSAGE_CONTENT intent.
    public var allowsMessageContent: Bool { !isDisjoint(with: [.gatewayMessageContent, .gatewayMessageContentLimited]) }
}

extension DiscordPermissions {
    /// SEND_MESSAGES (1 << 11).
    public static let sendMessages = DiscordPermissions(rawValue: 1 << 11)
    /// READ_MESSAGE_HISTORY (1 << 16).
    public static let readMessageHistory = DiscordPermissions(rawValue: 1 << 16)
    /// SEND_MESSAGES_IN_THREADS (1 << 38).
    public static let sendMessagesInThreads = DiscordPermissions(rawValue: 1 << 38)
}

/// The bot user behind a token (`GET /users/@me`).
public struct DiscordCurrentUser: Decodable, Hashable, Sendable {
    /// User id (snowflake).
    public var id: String
    /// User name.
    public var username: String
}

/// The application behind a token (`GET /oauth2/applications/@me`).
public struct DiscordApplicationInfo: Decodable, Hashable, Sendable {
    /// Application id (the OAuth2 client id).
    public var id: String
    /// Application name.
    public var name: String
    /// Public flags; nil when Discord left them out.
    public var flags: Int?

    /// The flags as a set (none when absent).
    public var applicationFlags: DiscordApplicationFlags { DiscordApplicationFlags(rawValue: flags ?? 0) }
}

/// A permission bit field Discord sends as a decimal string (some payloads use a number).
struct DiscordBitField: Decodable, Hashable, Sendable {
    var permissions: DiscordPermissions

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let text = try? container.decode(String.self), let value = UInt64(text) {
            permissions = DiscordPermissions(rawValue: value)
        } else {
            permissions = DiscordPermissions(rawValue: try container.decode(UInt64.self))
        }
    }
}

/// A channel or thread as `GET /channels/{id}` returns it (the fields a permission check needs).
public struct DiscordChannelInfo: Decodable, Hashable, Sendable {
    /// Channel id.
    public var id: String
    /// Channel type (0 text, 5 announcement, 10/11/12 threads, ...).
    public var type: Int
    /// The guild, nil for DMs.
    public var guildID: String?
    /// The parent channel of a thread (or the category of a channel).
    public var parentID: String?
    /// Channel name.
    public var name: String?
    /// Permission overwrites (threads have none; they use their parent's).
    public var overwrites: [DiscordPermissions.Overwrite]

    /// Whether this is a thread, which needs SEND_MESSAGES_IN_THREADS and its parent's overwrites.
    public var isThread: Bool { [10, 11, 12].contains(type) }

    private enum CodingKeys: String, CodingKey {
        case id, type, name
        case guildID = "guild_id"
        case parentID = "parent_id"
        case overwrites = "permission_overwrites"
    }

    private struct RawOverwrite: Decodable {
        var id: String
        var type: Int
        var allow: DiscordBitField
        var deny: DiscordBitField
    }

    /// Decodes Discord's channel object.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(String.self, forKey: .id)
        type = try container.decode(Int.self, forKey: .type)
        guildID = try container.decodeIfPresent(String.self, forKey: .guildID)
        parentID = try container.decodeIfPresent(String.self, forKey: .parentID)
        name = try container.decodeIfPresent(String.self, forKey: .name)
        overwrites = try (container.decodeIfPresent([RawOverwrite].self, forKey: .overwrites) ?? []).map {
            DiscordPermissions.Overwrite(id: $0.id, kind: $0.type == 1 ? .member : .role, allow: $0.allow.permissions,
                                         deny: $0.deny.permissions)
        }
    }
}

/// A guild as `GET /guilds/{id}` returns it: owner and role permissions.
public struct DiscordGuildInfo: Decodable, Hashable, Sendable {
    /// Guild id (also the @everyone role id).
    public var id: String
    /// Guild name.
    public var name: String
    /// The owner's user id.
    public var ownerID: String?
    /// Role id → permissions.
    public var rolePermissions: [String: DiscordPermissions]

    private enum CodingKeys: String, CodingKey {
        case id, name, roles
        case ownerID = "owner_id"
    }

    private struct RawRole: Decodable {
        var id: String
        var permissions: DiscordBitField
    }

    /// Decodes Discord's guild object.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(String.self, forKey: .id)
        name = try container.decode(String.self, forKey: .name)
        ownerID = try container.decodeIfPresent(String.self, forKey: .ownerID)
        let roles = try container.decodeIfPresent([RawRole].self, forKey: .roles) ?? []
        rolePermissions = Dictionary(roles.map { ($0.id, $0.permissions.permissions) }, uniquingKeysWith: { $1 })
    }
}

/// A guild member as `GET /guilds/{g}/members/{u}` returns it.
public struct DiscordMemberInfo: Decodable, Hashable, Sendable {
    /// Role ids of the member.
    public var roles: [String]
}

extension DiscordRoute {
    /// `GET /users/@me`.
    public static let currentUser = DiscordRoute(method: "GET", template: "/users/@me", majorParameter: "", path: "/users/@me")
    /// `GET /oauth2/applications/@me`.
    public static let currentApplication = DiscordRoute(method: "GET", template: "/oauth2/applications/@me", majorParameter: "",
                                                     path: "/oauth2/applications/@me")

    /// `GET /channels/{c}`.
    public static func getChannel(channelID: String) -> DiscordRoute {
        DiscordRoute(method: "GET", template: "/channels/{channel_id}", majorParameter: channelID, path: "/channels/\(channelID)")
    }

    /// `GET /guilds/{g}`.
    public static func getGuild(guildID: String) -> DiscordRoute {
        DiscordRoute(method: "GET", template: "/guilds/{guild_id}", majorParameter: guildID, path: "/guilds/\(guildID)")
    }

    /// `GET /guilds/{g}/members/{u}`.
    public static func getGuildMember(guildID: String, userID: String) -> DiscordRoute {
        DiscordRoute(method: "GET", template: "/guilds/{guild_id}/members/{user_id}", majorParameter: guildID,
                     path: "/guilds/\(guildID)/members/\(userID)")
    }
}

extension DiscordREST {
    /// The bot user the token belongs to; a 401 means the token is wrong.
    public func currentUser() async throws -> DiscordCurrentUser {
        try await request(DiscordCurrentUser.self, .currentUser)
    }

    /// The application the token belongs to, with its flags.
    public func currentApplication() async throws -> DiscordApplicationInfo {
        try await request(DiscordApplicationInfo.self, .currentApplication)
    }

    /// A channel or thread the bot can see (404/403 otherwise).
    public func channel(_ channelID: String) async throws -> DiscordChannelInfo {
        try await request(DiscordChannelInfo.self, .getChannel(channelID: channelID))
    }

    /// A guild the bot is in, with its roles.
    public func guild(_ guildID: String) async throws -> DiscordGuildInfo {
        try await request(DiscordGuildInfo.self, .getGuild(guildID: guildID))
    }

    /// A member of a guild (the bot itself, for its roles).
    public func member(guildID: String, userID: String) async throws -> DiscordMemberInfo {
        try await request(DiscordMemberInfo.self, .getGuildMember(guildID: guildID, userID: userID))
    }
}

/// GUILD_ROLE_CREATE/UPDATE payload.
public struct DiscordRoleEvent: Hashable, Sendable, Decodable {
    /// Guild id.
    public var guildId: String
    /// The role.
    public var role: DiscordRole
    enum CodingKeys: String, CodingKey { case role, guildId = "guild_id" }
}

/// GUILD_ROLE_DELETE payload.
public struct DiscordRoleDelete: Hashable, Sendable, Decodable {
    /// Guild id.
    public var guildId: String
    /// Deleted role id.
    public var roleId: String
    enum CodingKeys: String, CodingKey { case guildId = "guild_id", roleId = "role_id" }
}

/// INTERACTION_CREATE for application (slash) commands and message components (buttons).
public struct DiscordInteraction: Hashable, Sendable, Decodable {
    /// One command option; nested subcommands keep their options.
    public struct Option: Hashable, Sendable, Decodable {
        /// Option name.
        public var name: String
        /// String form of a scalar value, if any.
        public var value: String?
        /// Nested options of a subcommand.
        public var options: [Option]

        enum CodingKeys: String, CodingKey { case name, value, options }
        /// Decodes; numbers and booleans become strings.
        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            name = try c.decode(String.self, forKey: .name)
            if let s = try? c.decodeIfPresent(String.self, forKey: .value) { value = s }
            else if let i = try? c.decodeIfPresent(Int.self, forKey: .value) { value = String(i) }
            else if let d = try? c.decodeIfPresent(Double.self, forKey: .value) { value = String(d) }
            else if let b = try? c.decodeIfPresent(Bool.self, forKey: .value) { value = String(b) }
            else { value = nil }
            options = ((try? c.decodeIfPresent([Lossy<Option>].self, forKey: .options)) ?? []).compactMap(\.value)
        }
    }

    /// Interaction id (for the callback URL).
    public var id: String
    /// Interaction token (for the callback URL; never log it).
    public var token: String
    /// Interaction type (2 = application command); unknown values kept.
    public var type: Int
    /// Channel id.
    public var channelId: String?
    /// Guild id; nil in DMs.
    public var guildId: String?
    /// Invoking member in a guild, with channel-resolved permissions.
    public var member: DiscordMember?
    /// Invoking user in DMs.
    public var user: DiscordUser?
    /// Command name.
    public var commandName: String?
    /// Command options.
    public var options: [Option]
    /// Attachments given as attachment options (type 11), by id (`data.resolved.attachments`).
    public var resolvedAttachments: [String: DiscordAttachment] = [:]
    /// The pressed button's `custom_id` (component interactions, type 3).
    public var customID: String?
    /// The id of the message whose button was pressed (component interactions).
    public var messageID: String?

    enum CodingKeys: String, CodingKey {
        case id, token, type, member, user, data, message
        case channelId = "channel_id", guildId = "guild_id"
    }
    struct CommandData: Decodable {
        var name: String?
        var options: [Lossy<Option>]?
        var resolved: Resolved?
        var custom_id: String?
    }
    struct Resolved: Decodable { var attachments: [String: Lossy<DiscordAttachment>]? }
    struct MessageID: Decodable { var id: String }

    /// Decodes tolerantly: id, token and type are required.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(String.self, forKey: .id)
        token = try c.decode(String.self, forKey: .token)
        type = try c.decode(Int.self, forKey: .type)
        channelId = try? c.decodeIfPresent(String.self, forKey: .channelId)
        guildId = try? c.decodeIfPresent(String.self, forKey: .guildId)
        member = try? c.decodeIfPresent(DiscordMember.self, forKey: .member)
        user = try? c.decodeIfPresent(DiscordUser.self, forKey: .user)
        let data = try? c.decodeIfPresent(CommandData.self, forKey: .data)
        commandName = data?.name
        options = (data?.options ?? []).compactMap(\.value)
        resolvedAttachments = (data?.resolved?.attachments ?? [:]).compactMapValues(\.value)
        customID = data?.custom_id
        messageID = (try? c.decodeIfPresent(MessageID.self, forKey: .message))?.id
    }
}

/// MESSAGE_REACTION_ADD payload.
public struct DiscordReactionAdd: Hashable, Sendable, Decodable {
    /// The emoji (custom emoji have an id; unicode ones only a name).
    public struct Emoji: Hashable, Sendable, Decodable {
        /// Custom emoji id, nil for unicode emoji.
        public var id: String?
        /// The unicode emoji, or the custom emoji's name.
        public var name: String?
    }

    /// Who reacted.
    public var userId: String
    /// Channel of the message.
    public var channelId: String
    /// The message reacted to.
    public var messageId: String
    /// Guild, when in one.
    public var guildId: String?
    /// The reacting member (guild reactions), with roles.
    public var member: DiscordMember?
    /// The emoji.
    public var emoji: Emoji

    enum CodingKeys: String, CodingKey {
        case member, emoji
        case userId = "user_id", channelId = "channel_id", messageId = "message_id", guildId = "guild_id"
    }
}

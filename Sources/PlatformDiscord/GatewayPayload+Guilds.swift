/// A channel or thread (threads work like channels).
public struct DiscordChannel: Hashable, Sendable, Decodable {
    /// Snowflake id.
    public var id: String
    /// Channel type number; unknown values are kept as is.
    public var type: Int
    /// Guild id, if any (absent inside GUILD_CREATE).
    public var guildId: String?
    /// Name, if any.
    public var name: String?
    /// Parent channel of a thread or category parent.
    public var parentId: String?
    /// Permission overwrites; malformed entries are skipped.
    public var overwrites: [DiscordPermissions.Overwrite]
    /// Whether the channel is age-restricted (`nsfw`); absent or malformed counts as not.
    public var nsfw = false

    enum CodingKeys: String, CodingKey {
        case id, type, name, nsfw
        case guildId = "guild_id", parentId = "parent_id", overwrites = "permission_overwrites"
    }
    struct RawOverwrite: Decodable { var id: String; var type: Int; var allow: String; var deny: String }

    /// Decodes tolerantly: id and type are required.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(String.self, forKey: .id)
        type = try c.decode(Int.self, forKey: .type)
        guildId = try? c.decodeIfPresent(String.self, forKey: .guildId)
        name = try? c.decodeIfPresent(String.self, forKey: .name)
        parentId = try? c.decodeIfPresent(String.self, forKey: .parentId)
        nsfw = ((try? c.decodeIfPresent(Bool.self, forKey: .nsfw)) ?? nil) ?? false
        let raw = (try? c.decodeIfPresent([Lossy<RawOverwrite>].self, forKey: .overwrites)) ?? []
        overwrites = raw.compactMap { $0.value }.compactMap { o in
            guard o.type == 0 || o.type == 1, let allow = DiscordPermissions(string: o.allow),
                let deny = DiscordPermissions(string: o.deny)
            else { return nil }
            return DiscordPermissions.Overwrite(id: o.id, kind: o.type == 0 ? .role : .member, allow: allow, deny: deny)
        }
    }
}

/// A guild role with its permission bits.
public struct DiscordRole: Hashable, Sendable, Decodable {
    /// Snowflake id (the guild id for @everyone).
    public var id: String
    /// Role name.
    public var name: String
    /// Permission bits.
    public var permissions: DiscordPermissions

    enum CodingKeys: String, CodingKey { case id, name, permissions }
    /// Decodes; unparsable permissions fail this role only.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(String.self, forKey: .id)
        name = (try? c.decodeIfPresent(String.self, forKey: .name)) ?? ""
        guard let perms = DiscordPermissions(string: try c.decode(String.self, forKey: .permissions)) else {
            throw DecodingError.dataCorruptedError(forKey: .permissions, in: c, debugDescription: "not a decimal bit set")
        }
        permissions = perms
    }
}

/// A guild member (roles only; the bridge needs them for permission checks).
public struct DiscordMember: Hashable, Sendable, Decodable {
    /// The user, when present.
    public var user: DiscordUser?
    /// Role ids.
    public var roles: [String]
    /// Channel-resolved permissions, present in interactions.
    public var permissions: DiscordPermissions?

    enum CodingKeys: String, CodingKey { case user, roles, permissions }
    /// Decodes tolerantly.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        user = try? c.decodeIfPresent(DiscordUser.self, forKey: .user)
        roles = (try? c.decodeIfPresent([String].self, forKey: .roles)) ?? []
        permissions = (try? c.decodeIfPresent(String.self, forKey: .permissions)).flatMap { $0.flatMap(DiscordPermissions.init(string:)) }
    }
}

/// GUILD_MEMBER_UPDATE: the member's current roles.
public struct DiscordGuildMemberUpdate: Hashable, Sendable, Decodable {
    /// Guild id.
    public var guildId: String
    /// The member.
    public var user: DiscordUser
    /// Role ids now held.
    public var roles: [String]

    enum CodingKeys: String, CodingKey { case user, roles, guildId = "guild_id" }
}

/// GUILD_CREATE: what permission checks need.
public struct DiscordGuild: Hashable, Sendable, Decodable {
    /// Guild id.
    public var id: String
    /// Owner user id.
    public var ownerId: String?
    /// Roles; malformed ones skipped.
    public var roles: [DiscordRole]
    /// Channels plus active threads; malformed ones skipped.
    public var channels: [DiscordChannel]
    /// Members sent with the guild (includes the bot itself).
    public var members: [DiscordMember]

    enum CodingKeys: String, CodingKey { case id, roles, channels, threads, members, ownerId = "owner_id" }
    /// Decodes tolerantly: only id is required.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(String.self, forKey: .id)
        ownerId = try? c.decodeIfPresent(String.self, forKey: .ownerId)
        roles = ((try? c.decodeIfPresent([Lossy<DiscordRole>].self, forKey: .roles)) ?? []).compactMap(\.value)
        let channels = ((try? c.decodeIfPresent([Lossy<DiscordChannel>].self, forKey: .channels)) ?? []).compactMap(\.value)
        let threads = ((try? c.decodeIfPresent([Lossy<DiscordChannel>].self, forKey: .threads)) ?? []).compactMap(\.value)
        self.channels = channels + threads
        members = ((try? c.decodeIfPresent([Lossy<DiscordMember>].self, forKey: .members)) ?? []).compactMap(\.value)
    }
}

/// THREAD_LIST_SYNC: a guild's active threads (in the channels named, or all of them).
public struct DiscordThreadListSync: Hashable, Sendable, Decodable {
    /// Guild id.
    public var guildId: String
    /// The threads; malformed ones skipped.
    public var threads: [DiscordChannel]

    enum CodingKeys: String, CodingKey { case threads, guildId = "guild_id" }
    /// Decodes tolerantly: only guild_id is required.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        guildId = try c.decode(String.self, forKey: .guildId)
        threads = ((try? c.decodeIfPresent([Lossy<DiscordChannel>].self, forKey: .threads)) ?? []).compactMap(\.value)
    }
}

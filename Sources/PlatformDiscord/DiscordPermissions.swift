/// Discord permission bits and the channel-permission algorithm (everyone → roles → member overwrites).
public struct DiscordPermissions: OptionSet, Hashable, Sendable {
    /// The raw bit set.
    public let rawValue: UInt64
    /// Creates from bits.
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    /// Parses Discord's decimal string form; nil when malformed.
    public init?(string: String) {
        guard let value = UInt64(string) else { return nil }
        rawValue = value
    }
    /// ADMINISTRATOR (1 << 3): grants everything.
    public static let administrator = DiscordPermissions(rawValue: 1 << 3)
    /// MANAGE_CHANNELS (1 << 4).
    public static let manageChannels = DiscordPermissions(rawValue: 1 << 4)
    /// MANAGE_GUILD (1 << 5).
    public static let manageGuild = DiscordPermissions(rawValue: 1 << 5)
    /// VIEW_CHANNEL (1 << 10).
    public static let viewChannel = DiscordPermissions(rawValue: 1 << 10)
    /// MANAGE_WEBHOOKS (1 << 29).
    public static let manageWebhooks = DiscordPermissions(rawValue: 1 << 29)
    /// All bits.
    public static let all = DiscordPermissions(rawValue: .max)

    /// Whether these permissions make a bridge moderator.
    public var isModerator: Bool { !isDisjoint(with: [.administrator, .manageChannels, .manageGuild]) }

    /// One channel permission overwrite.
    public struct Overwrite: Hashable, Sendable {
        /// Role or member.
        public enum Kind: Hashable, Sendable { case role, member }
        /// Role id (guild id for @everyone) or user id.
        public var id: String
        /// What `id` names.
        public var kind: Kind
        /// Bits granted.
        public var allow: DiscordPermissions
        /// Bits removed.
        public var deny: DiscordPermissions
        /// Creates an overwrite.
        public init(id: String, kind: Kind, allow: DiscordPermissions, deny: DiscordPermissions) {
            self.id = id
            self.kind = kind
            self.allow = allow
            self.deny = deny
        }
    }

    /// Computes a member's permissions in a channel; `rolePermissions` maps role id (guild id = @everyone) to bits.
    public static func compute(
        guildID: String, ownerID: String?, userID: String, memberRoleIDs: [String],
        rolePermissions: [String: DiscordPermissions], overwrites: [Overwrite]
    ) -> DiscordPermissions {
        if userID == ownerID { return .all }
        var base = rolePermissions[guildID] ?? []
        for role in memberRoleIDs { base.formUnion(rolePermissions[role] ?? []) }
        if base.contains(.administrator) { return .all }
        var perms = base
        if let everyone = overwrites.first(where: { $0.kind == .role && $0.id == guildID }) {
            perms.subtract(everyone.deny)
            perms.formUnion(everyone.allow)
        }
        var allow: DiscordPermissions = []
        var deny: DiscordPermissions = []
        for overwrite in overwrites where overwrite.kind == .role && overwrite.id != guildID && memberRoleIDs.contains(overwrite.id) {
            allow.formUnion(overwrite.allow)
            deny.formUnion(overwrite.deny)
        }
        perms.subtract(deny)
        perms.formUnion(allow)
        if let member = overwrites.first(where: { $0.kind == .member && $0.id == userID }) {
            perms.subtract(member.deny)
            perms.formUnion(member.allow)
        }
        return perms
    }
}

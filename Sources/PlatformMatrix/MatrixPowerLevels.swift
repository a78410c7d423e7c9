/// Who counts as a moderator in a room: power level at or above a threshold, the room's creators in
/// room version 12 and later (they have unlimited power and are not listed in `users`), or a config admin.
public struct MatrixPowerLevels: Hashable, Sendable {
    /// `users` from `m.room.power_levels`.
    public var users: [String: Int]
    /// `users_default`.
    public var usersDefault: Int
    /// Creators from `m.room.create` (sender and `additional_creators`) when the room version gives them power.
    public var privilegedCreators: Set<String>

    /// Reads the two state events' contents; missing or malformed parts fall back to the spec defaults.
    public init(powerLevels: MatrixJSON?, create: MatrixEvent?) {
        var users: [String: Int] = [:]
        for (user, level) in powerLevels?["users"]?.object ?? [:] {
            if let level = level.int { users[user] = level }
        }
        self.users = users
        usersDefault = powerLevels?["users_default"]?.int ?? 0
        var creators = Set<String>()
        if let create, Self.creatorsHavePower(roomVersion: create.content["room_version"]?.string ?? "1") {
            if let sender = create.sender { creators.insert(sender) }
            for extra in create.content["additional_creators"]?.array ?? [] {
                if let id = extra.string { creators.insert(id) }
            }
        }
        privilegedCreators = creators
        // Before v12, with no power-levels event the creator has 100.
        if powerLevels == nil, let sender = create?.sender, privilegedCreators.isEmpty { self.users[sender] = 100 }
    }

    /// Room version 12 and later (numeric versions; unknown custom versions do not).
    public static func creatorsHavePower(roomVersion: String) -> Bool {
        guard let number = Int(roomVersion) else { return false }
        return number >= 12
    }

    /// The user's power level (`Int.max` for privileged creators).
    public func level(of user: String) -> Int {
        if privilegedCreators.contains(user) { return Int.max }
        return users[user] ?? usersDefault
    }

    /// Whether `user` is a moderator at `threshold`, or one of `admins`.
    public func isModerator(_ user: String, threshold: Int, admins: Set<String> = []) -> Bool {
        admins.contains(user) || level(of: user) >= threshold
    }
}

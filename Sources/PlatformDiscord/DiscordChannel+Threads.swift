extension DiscordChannel {
    /// Discord's thread channel types: announcement, public and private threads.
    static let threadTypes: Set<Int> = [10, 11, 12]

    /// Whether this channel is a thread (its webhooks and permission overwrites are its parent's).
    var isThread: Bool { Self.threadTypes.contains(type) }
}

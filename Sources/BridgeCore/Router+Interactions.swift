import Synchronization

/// What a command run for a platform interaction (e.g. a Discord slash command) answered.
public struct InteractionOutcome: Hashable, Sendable {
    /// The text answers, in order (empty when the command only acted, e.g. `regenerate`).
    public var texts: [String]
    /// Whether the command was refused for lack of moderator rights (nothing changed).
    public var refused: Bool

    /// Creates an outcome.
    public init(texts: [String], refused: Bool) {
        self.texts = texts
        self.refused = refused
    }
}

extension Router {
    /// Runs `command` for `user` in `channel` as if typed there, but returns the answers instead of posting them,
    /// so the adapter can reply ephemerally. Replies the command itself produces (regenerate, continue) still post.
    public func runInteraction(_ command: BridgeCommand, by user: ChatUser, in channel: ChannelRef,
                               platform: any PlatformSender) async -> InteractionOutcome {
        if command.needsModerator, !configurationForCommands.isAdmin(user, on: channel.platform),
           !(await platform.isModerator(user, in: channel)) {
            return InteractionOutcome(
                texts: ["Sorry \(user.displayName), only moderators or bridge admins can do that here. Nothing was changed."],
                refused: true)
        }
        let texts = Mutex<[String]>([])
        do {
            try await runCommand(.success(command), author: user, in: channel, platform: platform) { text in
                texts.withLock { $0.append(text) }
            }
        } catch {
            var logger = commandLogger
            logger[metadataKey: "channel"] = "\(channel.key)"
            logger.error("interaction command failed", metadata: ["error": "\(error)"])
            texts.withLock { $0.append("That did not work: the bridge hit an error. Nothing more was changed.") }
        }
        return InteractionOutcome(texts: texts.withLock { $0 }, refused: false)
    }
}

import Synchronization

/// Whether a reply got anything onto the platform, so a trigger whose reply failed before its first message
/// can have its answered-claim released.
final class ReplyProgress: Sendable {
    private let reached = Mutex(false)

    /// Whether a message was sent (or the trigger was deliberately answered without one).
    var reachedPlatform: Bool { reached.withLock { $0 } }

    /// Records that the platform has something for this trigger.
    func markReachedPlatform() { reached.withLock { $0 = true } }
}

/// How often a channel's messages may be edited: a token bucket plus an optional pause.
public struct EditBudget: Hashable, Sendable {
    /// Most edits that may be issued back to back.
    public var burst: Int
    /// Time to earn one more edit.
    public var interval: Duration
    /// A pause the platform asked for (e.g. Retry-After), counted from when it was set.
    public var pause: Duration?
    /// Bumped whenever `pause` is set, so a repeated pause of the same length is still noticed.
    public var pauseGeneration: Int

    /// Creates a budget.
    public init(burst: Int, interval: Duration, pause: Duration? = nil, pauseGeneration: Int = 0) {
        precondition(burst >= 1, "an edit budget needs a burst of at least one")
        self.burst = burst
        self.interval = interval
        self.pause = pause
        self.pauseGeneration = pauseGeneration
    }

    /// A conservative default: five edits per five seconds (Discord's per-channel message bucket).
    public static let conservative = EditBudget(burst: 5, interval: .seconds(1))
}

/// The live edit budgets of one adapter, per channel; the adapter writes, the edit schedulers read.
public final class EditBudgetBoard: Sendable {
    private let state: Locked<(fallback: EditBudget, channels: [String: EditBudget])>

    /// Creates a board where channels without their own entry use `fallback`.
    public init(fallback: EditBudget = .conservative) {
        state = Locked((fallback, [:]))
    }

    /// The current budget of a channel.
    public func budget(for channel: ChannelRef) -> EditBudget {
        state.withLock { $0.channels[channel.key] ?? $0.fallback }
    }

    /// Replaces a channel's bucket shape (e.g. from Discord's `X-RateLimit-Limit`/`Reset-After`).
    public func set(_ budget: EditBudget, for channel: ChannelRef) {
        state.withLock { $0.channels[channel.key] = budget }
    }

    /// Tells schedulers to stop editing in a channel for `duration` (e.g. after a 429 `Retry-After`).
    public func pause(_ channel: ChannelRef, for duration: Duration) {
        state.withLock { s in
            var budget = s.channels[channel.key] ?? s.fallback
            budget.pause = duration
            budget.pauseGeneration += 1
            s.channels[channel.key] = budget
        }
    }
}

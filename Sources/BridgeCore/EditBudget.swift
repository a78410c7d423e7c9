import Synchronization

/// A platform's fixed request window (Discord: 5 requests per 5 s per channel), shared by every request in it.
public struct FixedWindow: Hashable, Sendable {
    /// Requests allowed per window.
    public var limit: Int
    /// How long a window lasts from its first request.
    public var length: Duration
    /// Requests left in the current window as the platform last said, already counting requests it has sent;
    /// nil when unknown (the scheduler then counts its own requests).
    public var remaining: Int?
    /// Time until the current window resets, measured when this value was read; nil when no window is open.
    public var resetAfter: Duration?

    /// Creates a window description.
    public init(limit: Int, length: Duration, remaining: Int? = nil, resetAfter: Duration? = nil) {
        precondition(limit >= 1, "a request window needs a limit of at least one")
        self.limit = limit
        self.length = length
        self.remaining = remaining
        self.resetAfter = resetAfter
    }
}

/// How often a channel's messages may be edited: a token bucket, or a platform's fixed window, plus an optional pause.
public struct EditBudget: Hashable, Sendable {
    /// Most edits that may be issued back to back.
    public var burst: Int
    /// Time to earn one more edit.
    public var interval: Duration
    /// A pause the platform asked for (e.g. Retry-After), counted from when it was set.
    public var pause: Duration?
    /// Bumped whenever `pause` is set, so a repeated pause of the same length is still noticed.
    public var pauseGeneration: Int
    /// When set, the budget is this fixed window (which resets whole, never refills per second) and `burst`
    /// and `interval` only describe its average rate.
    public var window: FixedWindow?

    /// Creates a token-bucket budget.
    public init(burst: Int, interval: Duration, pause: Duration? = nil, pauseGeneration: Int = 0) {
        precondition(burst >= 1, "an edit budget needs a burst of at least one")
        self.burst = burst
        self.interval = interval
        self.pause = pause
        self.pauseGeneration = pauseGeneration
    }

    /// Creates a fixed-window budget.
    public init(window: FixedWindow, pause: Duration? = nil, pauseGeneration: Int = 0) {
        self.init(burst: window.limit, interval: window.length / window.limit, pause: pause, pauseGeneration: pauseGeneration)
        self.window = window
    }

    /// A conservative default: five edits per five seconds (Discord's per-channel message bucket).
    public static let conservative = EditBudget(burst: 5, interval: .seconds(1))
}

/// The live edit budgets of one adapter, per channel; the adapter writes, the edit schedulers read.
public final class EditBudgetBoard: Sendable {
    /// Reads a channel's live window from the adapter's own rate-limit bookkeeping; nil when it knows nothing yet.
    public typealias WindowSource = @Sendable (ChannelRef) -> FixedWindow?

    private let state: Mutex<(fallback: EditBudget, channels: [String: EditBudget], source: WindowSource?)>

    /// Creates a board where channels without their own entry use `fallback`.
    public init(fallback: EditBudget = .conservative) {
        state = Mutex((fallback, [:], nil))
    }

    /// The current budget of a channel (with the live window, when a source is attached).
    public func budget(for channel: ChannelRef) -> EditBudget {
        let (stored, source) = state.withLock { ($0.channels[channel.key] ?? $0.fallback, $0.source) }
        guard let source, let window = source(channel) else { return stored }
        return EditBudget(window: window, pause: stored.pause, pauseGeneration: stored.pauseGeneration)
    }

    /// Lets the board read each channel's fixed window live from the adapter, so every request the adapter
    /// sends in that window (creates, edits, later parts) is charged to the channel's edit scheduler.
    public func attachWindowSource(_ source: @escaping WindowSource) {
        state.withLock { $0.source = source }
    }

    /// Replaces a channel's bucket shape (e.g. from Discord's `X-RateLimit-Limit`/`Reset-After`).
    public func set(_ budget: EditBudget, for channel: ChannelRef) {
        state.withLock { $0.channels[channel.key] = budget }
    }

    /// Replaces a channel's bucket shape unless it is already that, keeping any pause.
    public func setIfChanged(_ budget: EditBudget, for channel: ChannelRef) {
        state.withLock { s in
            let old = s.channels[channel.key] ?? s.fallback
            guard old.burst != budget.burst || old.interval != budget.interval || old.window != budget.window else { return }
            var new = budget
            new.pause = old.pause
            new.pauseGeneration = old.pauseGeneration
            s.channels[channel.key] = new
        }
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

import BridgeCore

/// Adapts the edit budget of a room to 429 `M_LIMIT_EXCEEDED` answers: wait what the server says, then slow down;
/// successes slowly speed back up. Pure: the adapter applies the budgets it returns to its `EditBudgetBoard`.
public struct MatrixRateLimiter: Hashable, Sendable {
    /// The budget before any 429.
    public let initial: EditBudget
    /// The slowest pacing it backs off to.
    public let slowest: Duration
    /// Wait used when a 429 names none.
    public let defaultWait: Duration
    /// The current budget.
    public private(set) var budget: EditBudget
    /// 429s seen.
    public private(set) var limitedCount = 0
    private var successes = 0

    /// Creates a limiter starting at `initial`.
    public init(initial: EditBudget = EditBudget(burst: 3, interval: .milliseconds(1500)), slowest: Duration = .seconds(8),
                defaultWait: Duration = .seconds(5)) {
        self.initial = initial
        self.slowest = slowest
        self.defaultWait = defaultWait
        self.budget = initial
    }

    /// How long a 429 asks to wait: `Retry-After` (seconds) first, else the deprecated `retry_after_ms`.
    public static func retryAfter(header: String?, milliseconds: Int?) -> Duration? {
        if let header = header?.trimmingCharacters(), let seconds = Double(header), seconds >= 0, seconds < 3600 {
            return .milliseconds(Int(seconds * 1000))
        }
        if let ms = milliseconds, ms >= 0, ms < 3_600_000 { return .milliseconds(ms) }
        return nil
    }

    /// A 429 came: returns the new budget, which carries the pause and a slower, burst-1 pace.
    public mutating func limited(wait: Duration) -> EditBudget {
        limitedCount += 1
        successes = 0
        let slower = min(slowest, max(budget.interval * 2, initial.interval))
        var next = EditBudget(burst: 1, interval: slower, pause: wait, pauseGeneration: budget.pauseGeneration + 1)
        if next.interval < wait / 2 { next.interval = min(slowest, wait / 2) }
        budget = next
        return next
    }

    /// A send or edit succeeded: after a run of successes the pace relaxes one step; `nil` when unchanged.
    public mutating func succeeded() -> EditBudget? {
        successes += 1
        guard successes >= 10, budget.interval > initial.interval || budget.burst < initial.burst else { return nil }
        successes = 0
        let interval = max(initial.interval, budget.interval * 3 / 4)
        budget = EditBudget(burst: interval == initial.interval ? initial.burst : budget.burst, interval: interval,
                            pause: nil, pauseGeneration: budget.pauseGeneration)
        return budget
    }
}

/// Exponential backoff for the sync loop and transient send failures.
public struct MatrixBackoff: Hashable, Sendable {
    /// First delay.
    public let initial: Duration
    /// Largest delay.
    public let maximum: Duration
    /// Failures in a row.
    public private(set) var failures = 0

    /// Creates a backoff.
    public init(initial: Duration = .seconds(1), maximum: Duration = .seconds(60)) {
        self.initial = initial
        self.maximum = maximum
    }

    /// The next delay after a failure.
    public mutating func next() -> Duration {
        failures += 1
        var delay = initial
        for _ in 1..<min(failures, 20) { delay = min(maximum, delay * 2) }
        return delay
    }

    /// A success resets the delay.
    public mutating func reset() { failures = 0 }
}

extension String {
    fileprivate func trimmingCharacters() -> String {
        String(drop { $0.isWhitespace }.reversed().drop { $0.isWhitespace }.reversed())
    }
}

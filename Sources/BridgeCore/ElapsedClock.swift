/// Any `Clock<Duration>` seen as time elapsed since a fixed start, so pure state machines can take `Duration`s.
public struct ElapsedClock: Sendable {
    private let nowFn: @Sendable () -> Duration
    private let sleepFn: @Sendable (Duration) async throws -> Void

    /// Wraps a clock; time zero is the moment of this call.
    public init<C: Clock>(_ clock: C) where C.Duration == Duration {
        let start = clock.now
        nowFn = { start.duration(to: clock.now) }
        sleepFn = { try await clock.sleep(until: start.advanced(by: $0), tolerance: nil) }
    }

    /// Time since the start.
    public var now: Duration { nowFn() }

    /// Sleeps until the given elapsed time.
    public func sleep(until deadline: Duration) async throws {
        try await sleepFn(deadline)
    }
}

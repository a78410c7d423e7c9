/// An injected `any Clock<Duration>` seen as time elapsed since a fixed start, so pure state machines can take
/// `Duration`s. Components take `any Clock<Duration>` (the one injection style) and make this view themselves;
/// parts that compare times with each other (Discord's REST client, gateways and adapter) share one view.
public struct ElapsedClock: Sendable {
    private let nowFn: @Sendable () -> Duration
    private let sleepFn: @Sendable (Duration) async throws -> Void

    /// Wraps a clock; time zero is the moment of this call.
    public init(_ clock: any Clock<Duration>) {
        self = Self.starting(clock)
    }

    private init(now: @escaping @Sendable () -> Duration, sleep: @escaping @Sendable (Duration) async throws -> Void) {
        nowFn = now
        sleepFn = sleep
    }

    private static func starting<C: Clock<Duration>>(_ clock: C) -> ElapsedClock {
        let start = clock.now
        return ElapsedClock(now: { start.duration(to: clock.now) },
                            sleep: { try await clock.sleep(until: start.advanced(by: $0), tolerance: nil) })
    }

    /// Time since the start.
    public var now: Duration { nowFn() }

    /// Sleeps for `duration` from now.
    public func sleep(for duration: Duration) async throws {
        try await sleepFn(nowFn() + duration)
    }

    /// Sleeps until the given elapsed time.
    public func sleep(until deadline: Duration) async throws {
        try await sleepFn(deadline)
    }
}

/// Token bucket (as GCRA) for outgoing lines: `burst` lines at once, then one per `interval`; time is passed in.
public struct FloodBucket<Instant: InstantProtocol>: Sendable where Instant.Duration == Duration {
    /// Lines that may go out back to back.
    public let burst: Int
    /// Steady-state spacing between lines.
    public let interval: Duration
    private var theoreticalArrival: Instant?

    /// Creates a bucket; defaults (burst 4, one line per second) are safe on common networks.
    public init(burst: Int = 4, interval: Duration = .seconds(1)) {
        self.burst = max(1, burst)
        self.interval = interval
    }

    private var tolerance: Duration { interval * (burst - 1) }

    /// Takes a token at `now`: nil when a line may be sent now, else how long to wait before retrying.
    public mutating func take(now: Instant) -> Duration? {
        if let wait = waitTime(now: now) { return wait }
        let start = theoreticalArrival.map { max($0, now) } ?? now
        theoreticalArrival = start.advanced(by: interval)
        return nil
    }

    /// How long until a token is available at `now`, without taking it (nil = available now).
    public func waitTime(now: Instant) -> Duration? {
        guard let tat = theoreticalArrival else { return nil }
        let start = max(tat, now)
        let ahead = now.duration(to: start)
        return ahead <= tolerance ? nil : ahead - tolerance
    }
}

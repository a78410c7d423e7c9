import BridgeCore

/// A moment on an `ElapsedClock`, as the instant the flood queue and the rate limits of `IRCPlatform` compare.
struct ElapsedInstant: InstantProtocol {
    /// Time since the clock's start.
    var offset: Duration

    func advanced(by duration: Duration) -> ElapsedInstant { ElapsedInstant(offset: offset + duration) }
    func duration(to other: ElapsedInstant) -> Duration { other.offset - offset }
    static func < (lhs: ElapsedInstant, rhs: ElapsedInstant) -> Bool { lhs.offset < rhs.offset }
}

extension ElapsedClock {
    /// Now, as an instant.
    var instant: ElapsedInstant { ElapsedInstant(offset: now) }
}

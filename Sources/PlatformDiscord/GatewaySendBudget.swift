/// The 120-sends-per-60-s gateway limit, per connection, with headroom kept for heartbeats.
public struct GatewaySendBudget: Hashable, Sendable {
    /// Sends allowed per window.
    public let limit: Int
    /// Window length.
    public let window: Duration
    /// Slots only heartbeats may use.
    public let heartbeatHeadroom: Int
    private var sent: [Duration] = []

    /// Creates a budget; Discord's limit is 120 per 60 s.
    public init(limit: Int = 120, window: Duration = .seconds(60), heartbeatHeadroom: Int = 10) {
        self.limit = limit
        self.window = window
        self.heartbeatHeadroom = min(heartbeatHeadroom, limit - 1)
    }

    /// Records a send and returns nil when it may go now, else how long to wait (nothing is recorded).
    public mutating func reserve(isHeartbeat: Bool, now: Duration) -> Duration? {
        sent.removeAll { $0 <= now - window }
        let allowed = isHeartbeat ? limit : limit - heartbeatHeadroom
        if sent.count < allowed {
            sent.append(now)
            return nil
        }
        // The oldest send that must leave the window before one more fits.
        let index = sent.count - allowed
        return sent[index] + window - now
    }

    /// Forgets all sends; call on a new connection.
    public mutating func reset() { sent.removeAll() }
}

/// Identify concurrency: one identify per `shard_id % max_concurrency` bucket per 5 s.
public struct IdentifyLimiter: Hashable, Sendable {
    /// From `session_start_limit.max_concurrency`.
    public let maxConcurrency: Int
    /// Spacing within one bucket.
    public let spacing: Duration
    private var lastIdentify: [Int: Duration] = [:]

    /// Creates a limiter.
    public init(maxConcurrency: Int, spacing: Duration = .seconds(5)) {
        self.maxConcurrency = max(1, maxConcurrency)
        self.spacing = spacing
    }

    /// Records an identify for `shardId` and returns nil, or returns how long to wait first.
    public mutating func reserve(shardId: Int, now: Duration) -> Duration? {
        let bucket = shardId % maxConcurrency
        if let last = lastIdentify[bucket], now < last + spacing {
            return last + spacing - now
        }
        lastIdentify[bucket] = now
        return nil
    }
}

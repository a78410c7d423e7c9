import BridgeCore
import HTTPTransport

/// A REST route: method plus path template, with its major parameter value.
public struct DiscordRoute: Hashable, Sendable {
    /// HTTP method name.
    public var method: String
    /// Path template, e.g. `/channels/{channel_id}/messages/{message_id}`.
    public var template: String
    /// The major parameter value (channel id, guild id, or webhook id + token).
    public var majorParameter: String

    /// Creates a route.
    public init(method: String, template: String, majorParameter: String) {
        self.method = method
        self.template = template
        self.majorParameter = majorParameter
    }

    /// PATCH a channel message (a streamed edit).
    public static func editMessage(channelID: String) -> DiscordRoute {
        DiscordRoute(method: "PATCH", template: "/channels/{channel_id}/messages/{message_id}", majorParameter: channelID)
    }
}

/// Pure REST rate-limit bookkeeping: learned buckets, the global limit, 429s and the invalid-request guard.
public struct RateLimitState: Sendable {
    struct Bucket: Sendable {
        var limit: Int
        var remaining: Int
        var resetAt: Duration
        /// Last learned reset-after, reused until a response refreshes it.
        var window: Duration
    }
    private var routeToHash: [String: String] = [:]
    private var buckets: [String: Bucket] = [:]
    private var globalSent: [Duration] = []
    private var globalPausedUntil: Duration = .zero
    private var invalid: [Duration] = []

    /// Requests per second across the bot.
    public let globalLimit: Int
    /// Invalid (401/403/429) responses per 10 minutes after which requests stop; well below Discord's 10,000.
    public let invalidRequestCeiling: Int

    /// Creates an empty state.
    public init(globalLimit: Int = 50, invalidRequestCeiling: Int = 2_500) {
        self.globalLimit = globalLimit
        self.invalidRequestCeiling = invalidRequestCeiling
    }

    private func routeKey(_ route: DiscordRoute) -> String { route.method + " " + route.template }
    private func bucketKey(_ route: DiscordRoute) -> String {
        (routeToHash[routeKey(route)] ?? routeKey(route)) + ":" + route.majorParameter
    }

    /// Reserves a request slot: nil means send now (and the slot is taken); otherwise wait that long and retry.
    public mutating func reserve(route: DiscordRoute, now: Duration) -> Duration? {
        invalid.removeAll { $0 <= now - .seconds(600) }
        if invalid.count >= invalidRequestCeiling, let first = invalid.first {
            return first + .seconds(600) - now
        }
        if now < globalPausedUntil { return globalPausedUntil - now }
        let key = bucketKey(route)
        if var bucket = buckets[key] {
            if now >= bucket.resetAt {
                bucket.remaining = bucket.limit
                bucket.resetAt = now + bucket.window
            }
            if bucket.remaining <= 0 { return bucket.resetAt - now }
            buckets[key] = bucket
        }
        globalSent.removeAll { $0 <= now - .seconds(1) }
        if globalSent.count >= globalLimit, let first = globalSent.first {
            return first + .seconds(1) - now
        }
        globalSent.append(now)
        buckets[key]?.remaining -= 1
        return nil
    }

    /// Learns from a response: `X-RateLimit-*` headers, and on 429 the body's `retry_after` (seconds).
    public mutating func update(route: DiscordRoute, status: Int, headers: HTTPHeaders, retryAfter: Double? = nil, now: Duration) {
        if status == 401 || status == 403 || (status == 429 && headers["X-RateLimit-Scope"] != "shared") {
            invalid.append(now)
        }
        if let hash = headers["X-RateLimit-Bucket"] { routeToHash[routeKey(route)] = hash }
        let key = bucketKey(route)
        if let limit = headers["X-RateLimit-Limit"].flatMap(Int.init),
            let remaining = headers["X-RateLimit-Remaining"].flatMap(Int.init),
            let resetAfter = headers["X-RateLimit-Reset-After"].flatMap(Double.init)
        {
            let window = Duration.milliseconds(Int(max(resetAfter, 0) * 1000))
            buckets[key] = Bucket(limit: limit, remaining: remaining, resetAt: now + window, window: window)
        }
        guard status == 429 else { return }
        let wait = Duration.milliseconds(Int((retryAfter ?? headers["Retry-After"].flatMap(Double.init) ?? 1) * 1000))
        if headers["X-RateLimit-Scope"] == "global" || headers["X-RateLimit-Global"] == "true" {
            globalPausedUntil = max(globalPausedUntil, now + wait)
        } else {
            var bucket = buckets[key] ?? Bucket(limit: 1, remaining: 0, resetAt: now + wait, window: wait)
            bucket.remaining = 0
            bucket.resetAt = max(bucket.resetAt, now + wait)
            buckets[key] = bucket
        }
    }

    /// The edit budget for a channel learned from its PATCH bucket, or nil before any response taught it.
    public func editBudget(channelID: String) -> EditBudget? {
        guard let bucket = buckets[bucketKey(.editMessage(channelID: channelID))], bucket.limit > 0 else { return nil }
        // Headers give the window only as reset-after; Discord's observed edit window is 5 s for 5 edits.
        return EditBudget(burst: bucket.limit, interval: .seconds(5) / bucket.limit)
    }
}

import BridgeCore
import HTTPTransport

/// A REST route: the request path, and the method, path template and major parameter that name its rate-limit
/// bucket. Built by the factories in `DiscordRoute+Endpoints.swift`, so a path and its bucket cannot disagree.
public struct DiscordRoute: Hashable, Sendable {
    /// HTTP method name.
    public var method: String
    /// Path template, e.g. `/channels/{channel_id}/messages/{message_id}`.
    public var template: String
    /// The major parameter value (channel id, guild id, or webhook id + token).
    public var majorParameter: String
    /// The path requested (relative to the API base, with any query).
    public var path: String

    /// Creates a route; without `path` it only names a bucket (its path is the template).
    public init(method: String, template: String, majorParameter: String, path: String? = nil) {
        self.method = method
        self.template = template
        self.majorParameter = majorParameter
        self.path = path ?? template
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
        /// Longest reset-after seen: the bucket's window length, as far as headers tell.
        var span: Duration = .zero
    }
    private var routeToHash: [String: String] = [:]
    private var buckets: [String: Bucket] = [:]
    private var globalSent: [Duration] = []
    private var globalPausedUntil: Duration = .zero
    private var invalid: [Duration] = []
    /// Routes (route key + major parameter) with a request in flight whose bucket is not yet known.
    private var probing: Set<String> = []
    private var hits429 = 0

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
        let probeKey = routeKey(route) + ":" + route.majorParameter
        if buckets[key] == nil {
            // Until a response teaches this bucket, one request at a time; and wait out any exhausted bucket of
            // the same major parameter, since an unlearned route may share it.
            if probing.contains(probeKey) { return .milliseconds(20) }
            let suffix = ":" + route.majorParameter
            let exhausted = buckets.filter { $0.key.hasSuffix(suffix) && $0.value.remaining <= 0 && $0.value.resetAt > now }
            if let soonest = exhausted.map(\.value.resetAt).min() { return soonest - now }
        }
        if var bucket = buckets[key] {
            if now >= bucket.resetAt {
                // A new window opens with this request and lasts the bucket's full length, not the last
                // reset-after heard (a response near a window's end says "0.2 s"); a response corrects it.
                bucket.remaining = bucket.limit
                bucket.resetAt = now + max(bucket.window, bucket.span)
            }
            if bucket.remaining <= 0 { return bucket.resetAt - now }
            buckets[key] = bucket
        }
        globalSent.removeAll { $0 <= now - .seconds(1) }
        if globalSent.count >= globalLimit, let first = globalSent.first {
            return first + .seconds(1) - now
        }
        globalSent.append(now)
        if buckets[key] == nil { probing.insert(probeKey) }
        buckets[key]?.remaining -= 1
        return nil
    }

    /// Whether the invalid-request guard is holding requests back at `now`.
    public func isGuarding(now: Duration) -> Bool {
        invalid.filter { $0 > now - .seconds(600) }.count >= invalidRequestCeiling
    }

    /// Gives back a reserved slot's probe when the request failed without a response.
    public mutating func release(route: DiscordRoute) {
        probing.remove(routeKey(route) + ":" + route.majorParameter)
    }

    /// How many 429 responses were seen (each one is a pacing bug).
    public var tooManyRequestsCount: Int { hits429 }

    /// Learns from a response: `X-RateLimit-*` headers, and on 429 the body's `retry_after` (seconds).
    public mutating func update(route: DiscordRoute, status: Int, headers: HTTPHeaders, retryAfter: Double? = nil, now: Duration) {
        probing.remove(routeKey(route) + ":" + route.majorParameter)
        if status == 429 { hits429 += 1 }
        if status == 401 || status == 403 || (status == 429 && headers["X-RateLimit-Scope"] != "shared") {
            invalid.append(now)
        }
        if let hash = headers["X-RateLimit-Bucket"] { routeToHash[routeKey(route)] = hash }
        let key = bucketKey(route)
        if let limit = headers["X-RateLimit-Limit"].flatMap(Int.init),
            let remaining = headers["X-RateLimit-Remaining"].flatMap(Int.init),
            let resetAfter = headers["X-RateLimit-Reset-After"].flatMap(Double.init)
        {
            let window = Self.networkDuration(seconds: resetAfter, fallback: .seconds(1))
            var learned = Bucket(limit: limit, remaining: remaining, resetAt: now + window, window: window,
                                 span: max(window, buckets[key]?.span ?? .zero))
            // Responses of concurrent requests arrive out of order: within a live window keep the lower count.
            // A reset time far from the known one means the server already started a new window.
            if let known = buckets[key], now < known.resetAt, learned.resetAt < known.resetAt + window / 2 {
                learned.remaining = min(known.remaining, remaining)
                learned.resetAt = max(known.resetAt, learned.resetAt)
            }
            buckets[key] = learned
        }
        guard status == 429 else { return }
        let wait = Self.networkDuration(seconds: retryAfter ?? headers["Retry-After"].flatMap(Double.init), fallback: .seconds(1))
        if headers["X-RateLimit-Scope"] == "global" || headers["X-RateLimit-Global"] == "true" {
            globalPausedUntil = max(globalPausedUntil, now + wait)
        } else {
            var bucket = buckets[key] ?? Bucket(limit: 1, remaining: 0, resetAt: now + wait, window: wait)
            bucket.remaining = 0
            bucket.resetAt = max(bucket.resetAt, now + wait)
            buckets[key] = bucket
        }
    }

    /// The live fixed window of the bucket `route` belongs to (shared by every route with the same bucket hash
    /// and major parameter), or nil before a response taught it.
    public func window(for route: DiscordRoute, now: Duration) -> FixedWindow? {
        guard let bucket = buckets[bucketKey(route)], bucket.limit > 0 else { return nil }
        let length = bucket.span > .zero ? bucket.span : .seconds(5)
        guard now < bucket.resetAt else { return FixedWindow(limit: bucket.limit, length: length, remaining: bucket.limit) }
        return FixedWindow(limit: bucket.limit, length: length, remaining: max(0, bucket.remaining),
                           resetAfter: bucket.resetAt - now)
    }

    /// The edit budget for a channel learned from its PATCH bucket, or nil before any response taught it.
    public func editBudget(channelID: String) -> EditBudget? {
        guard let bucket = buckets[bucketKey(.editMessage(channelID: channelID))], bucket.limit > 0 else { return nil }
        // Headers give the window only as reset-after; its longest value is the window (Discord: 5 edits per 5 s).
        let span = bucket.span > .zero ? bucket.span : .seconds(5)
        return EditBudget(burst: bucket.limit, interval: span / bucket.limit)
    }
}

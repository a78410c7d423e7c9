import BridgeCore
import Foundation
import HTTPTransport
import Logging
import Synchronization

/// Discord REST over `HTTPClient`: bucketed rate limits, the global limit, 429 handling, 5xx retries, typed errors.
public final class DiscordREST: Sendable {
    /// A response body with its status.
    public struct Response: Sendable {
        /// HTTP status.
        public var status: Int
        /// Body bytes.
        public var body: [UInt8]
    }

    /// The default API base.
    public static let defaultBaseURL = "https://discord.com/api/v10"
    /// The `User-Agent` format Discord requires.
    public static let defaultUserAgent = "DiscordBot (https://github.com/persona-bridge/persona-bridge, 0.1)"

    /// API base URL without a trailing slash.
    public let baseURL: String
    /// `User-Agent` sent on every request.
    public let userAgent: String
    /// Attempts for 5xx or transport failures and for unexpected 429s.
    public let maxAttempts: Int
    private let token: String
    let http: HTTPClient
    private let clock: ElapsedClock
    private let logger: Logger
    private let limits: Mutex<RateLimitState>

    /// Creates a client.
    public convenience init(token: String, http: HTTPClient, baseURL: String = DiscordREST.defaultBaseURL,
                            userAgent: String = DiscordREST.defaultUserAgent, maxAttempts: Int = 4,
                            rateLimits: RateLimitState = RateLimitState(), clock: any Clock<Duration> = ContinuousClock(),
                            logger: Logger) {
        self.init(token: token, http: http, baseURL: baseURL, userAgent: userAgent, maxAttempts: maxAttempts,
                  rateLimits: rateLimits, elapsed: ElapsedClock(clock), logger: logger)
    }

    /// Creates a client on the adapter's view of its clock, so its times compare with the adapter's.
    init(token: String, http: HTTPClient, baseURL: String, userAgent: String, maxAttempts: Int = 4,
         rateLimits: RateLimitState = RateLimitState(), elapsed clock: ElapsedClock, logger: Logger) {
        self.token = token
        self.http = http
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.userAgent = userAgent
        self.maxAttempts = max(1, maxAttempts)
        self.clock = clock
        self.logger = logger
        self.limits = Mutex(rateLimits)
    }

    /// The edit budget learned for a channel's PATCH bucket, if any response taught it yet.
    public func editBudget(channelID: String) -> EditBudget? {
        limits.withLock { $0.editBudget(channelID: channelID) }
    }

    /// The live fixed window of `route`'s bucket (creates and edits of a channel share one), if learned yet.
    public func window(for route: DiscordRoute) -> FixedWindow? {
        let now = clock.now
        return limits.withLock { $0.window(for: route, now: now) }
    }

    /// 429 responses seen so far (each is a pacing bug).
    public var tooManyRequestsCount: Int { limits.withLock { $0.tooManyRequestsCount } }

    /// Sends a request to `route`'s path on its rate-limit bucket.
    public func request(_ route: DiscordRoute, body: [UInt8]? = nil,
                        headers extra: [(String, String)] = []) async throws -> Response {
        let routeName = route.method + " " + route.template
        var attempt = 0
        while true {
            attempt += 1
            // Wait for a slot: bucket, global limit, 429 pauses, invalid-request guard.
            while true {
                let now = clock.now
                guard let wait = limits.withLock({ $0.reserve(route: route, now: now) }) else { break }
                if limits.withLock({ $0.isGuarding(now: now) }) {
                    throw DiscordRESTError(code: .invalidRequestGuard, status: nil, route: routeName,
                                           message: "too many invalid requests recently; holding requests back for \(wait)")
                }
                try await clock.sleep(until: now + wait)
            }
            var headers = HTTPHeaders()
            headers.add(name: "Authorization", value: "Bot " + token)
            headers.add(name: "User-Agent", value: userAgent)
            // A multipart upload names its own content type.
            if body != nil, !extra.contains(where: { $0.0.lowercased() == "content-type" }) {
                headers.add(name: "Content-Type", value: "application/json")
            }
            for (name, value) in extra { headers.add(name: name, value: value) }
            let request = HTTPRequest(method: HTTPMethod(rawValue: route.method), url: baseURL + route.path, headers: headers,
                                      body: body, timeouts: HTTPTimeouts(connect: .seconds(10), total: .seconds(30)))
            let status: Int
            let responseHeaders: HTTPHeaders
            let bytes: [UInt8]
            do {
                let response = try await http.execute(request)
                status = response.status
                responseHeaders = response.headers
                bytes = try await response.body.collect(upTo: 8 << 20)
            } catch {
                limits.withLock { $0.release(route: route) }
                if error is CancellationError || Task.isCancelled { throw error }
                guard attempt < maxAttempts else {
                    throw DiscordRESTError(code: .transport, status: nil, route: routeName, message: "\(error)")
                }
                logger.warning("discord request failed; retrying", metadata: ["route": "\(routeName)", "error": "\(error)"])
                try await clock.sleep(until: clock.now + backoff(attempt))
                continue
            }
            let errorBody = status >= 400 ? try? JSONDecoder().decode(ErrorBody.self, from: Data(bytes)) : nil
            let now = clock.now
            limits.withLock {
                $0.update(route: route, status: status, headers: responseHeaders, retryAfter: errorBody?.retry_after, now: now)
            }
            switch status {
            case 200..<300:
                return Response(status: status, body: bytes)
            case 429:
                logger.error("discord rate limited (a pacing bug)", metadata: [
                    "route": "\(routeName)", "scope": "\(responseHeaders["X-RateLimit-Scope"] ?? "-")",
                    "retry-after": "\(errorBody?.retry_after ?? -1)"])
                guard attempt < maxAttempts else {
                    throw DiscordRESTError(code: .rateLimited, status: status, route: routeName, message: "still rate limited")
                }
            case 500...:
                guard attempt < maxAttempts else {
                    throw DiscordRESTError(code: .serverError, status: status, route: routeName,
                                           message: "Discord returned \(status) \(maxAttempts) times")
                }
                logger.warning("discord server error; retrying", metadata: ["route": "\(routeName)", "status": "\(status)"])
                try await clock.sleep(until: clock.now + backoff(attempt))
            default:
                let code: DiscordRESTError.Code = switch status {
                case 401: .unauthorized
                case 403: .forbidden
                case 404: .notFound
                default: .badRequest
                }
                var message = errorBody?.message ?? "HTTP \(status)"
                if status == 401 { message += "; check the configured Discord bot token" }
                throw DiscordRESTError(code: code, status: status, route: routeName, discordCode: errorBody?.code, message: message)
            }
        }
    }

    /// Sends and decodes a JSON response.
    public func request<T: Decodable>(_ type: T.Type, _ route: DiscordRoute, body: [UInt8]? = nil) async throws -> T {
        let response = try await request(route, body: body)
        do {
            return try JSONDecoder().decode(T.self, from: Data(response.body))
        } catch {
            throw DiscordRESTError(code: .invalidResponse, status: response.status, route: route.method + " " + route.template,
                                   message: "unexpected response body for \(T.self)")
        }
    }

    private func backoff(_ attempt: Int) -> Duration {
        .milliseconds(250 * (1 << min(attempt, 6)))
    }

    private struct ErrorBody: Decodable {
        var message: String?
        var code: Int?
        var retry_after: Double?
        var global: Bool?
    }
}

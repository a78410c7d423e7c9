import Foundation

/// When and how long to wait before another attempt: exponential backoff with jitter, or `Retry-After`.
struct RetryPolicy: Sendable {
    let maxAttempts: Int
    let initialBackoff: Duration
    let maxBackoff: Duration
    let maxRetryAfter: Duration

    init(configuration: ModelClientConfiguration) {
        maxAttempts = configuration.maxAttempts
        initialBackoff = configuration.initialBackoff
        maxBackoff = configuration.maxBackoff
        maxRetryAfter = configuration.maxRetryAfter
    }

    /// The wait before retry number `retry` (1-based) when the server gave no `Retry-After`:
    /// `initial * 2^(retry-1)` capped at `maxBackoff`, then "equal jitter" (half fixed, half random)
    /// so many clients failing together do not retry in lockstep.
    func backoff(retry: Int, using random: inout some RandomNumberGenerator) -> Duration {
        let exponent = min(max(retry - 1, 0), 30)
        var base = initialBackoff * (1 << exponent)
        if base > maxBackoff { base = maxBackoff }
        let half = base / 2
        let jitterFraction = Double.random(in: 0...1, using: &random)
        return half + half * jitterFraction
    }

    /// The longest `Retry-After` taken literally; larger values (`1e20`) become this, so the conversion cannot trap.
    static let maximumRetryAfterSeconds: Double = 3_600

    /// Seconds from the network as a duration: nil when not finite (then the caller's default applies), else
    /// clamped to 0…1 h.
    static func networkDuration(seconds: Double) -> Duration? {
        guard seconds.isFinite else { return nil }
        let clamped = min(max(seconds, 0), maximumRetryAfterSeconds)
        return .milliseconds(Int64((clamped * 1000).rounded(.up)))
    }

    /// Parses `Retry-After` as delay seconds or an HTTP date.
    static func parseRetryAfter(_ value: String?, now: Date = Date()) -> Duration? {
        guard let value = value?.trimmingCharacters(in: .whitespaces), !value.isEmpty else { return nil }
        if let seconds = Double(value) {
            guard seconds >= 0 || !seconds.isFinite else { return nil }
            return networkDuration(seconds: seconds)
        }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        guard let date = formatter.date(from: value) else { return nil }
        return networkDuration(seconds: max(0, date.timeIntervalSince(now)))
    }
}

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

    /// Parses `Retry-After` as delay seconds or an HTTP date.
    static func parseRetryAfter(_ value: String?, now: Date = Date()) -> Duration? {
        guard let value = value?.trimmingCharacters(in: .whitespaces), !value.isEmpty else { return nil }
        if let seconds = Double(value), seconds.isFinite, seconds >= 0 {
            return .milliseconds(Int64((seconds * 1000).rounded(.up)))
        }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        guard let date = formatter.date(from: value) else { return nil }
        let seconds = max(0, date.timeIntervalSince(now))
        return .milliseconds(Int64((seconds * 1000).rounded(.up)))
    }
}

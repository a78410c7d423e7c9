extension RateLimitState {
    /// The longest wait a response may impose; a hostile or broken server asking for more gets this.
    public static let maximumNetworkWait: Duration = .seconds(3_600)

    /// A duration given in seconds by the network (`Retry-After`, `retry_after`, `X-RateLimit-Reset-After`):
    /// `fallback` when missing, non-finite or unparsable, else clamped to 0…1 h, so no value can trap a conversion.
    public static func networkDuration(seconds: Double?, fallback: Duration) -> Duration {
        guard let seconds, seconds.isFinite else { return fallback }
        let clamped = min(max(seconds, 0), Double(maximumNetworkWait.components.seconds))
        return .milliseconds(Int64((clamped * 1_000).rounded(.up)))
    }
}

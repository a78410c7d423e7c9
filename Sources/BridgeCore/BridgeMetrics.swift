import CoreMetrics

/// The bridge's metrics, emitted through swift-metrics (Prometheus in `persona-bridge run`).
///
/// Adapters report their own events here too: `rateLimited`, `reconnected`, `queueDepth`. Creating one is
/// cheap; by default it uses the process's bootstrapped `MetricsSystem` (a no-op until bootstrapped).
public struct BridgeMetrics: Sendable {
    private let factory: any MetricsFactory

    /// Creates a metrics front end over `factory`.
    public init(factory: any MetricsFactory = MetricsSystem.factory) {
        self.factory = factory
    }

    /// Metrics that go nowhere (tests that do not look at them).
    public static var disabled: BridgeMetrics { BridgeMetrics(factory: NOOPMetricsHandler.instance) }

    private func count(_ label: String, _ dimensions: [(String, String)], by amount: Int = 1) {
        Counter(label: label, dimensions: dimensions, factory: factory).increment(by: amount)
    }

    /// A chat message arrived from a platform.
    public func messageReceived(platform: String) { count("pb_messages_in_total", [("platform", platform)]) }
    /// The `messageReceived` counter of one platform as a handle to keep: making a handler asks the factory
    /// (a locked lookup in Prometheus), too dear for every chat message of a flood.
    public func messagesReceivedCounter(platform: String) -> Counter {
        Counter(label: "pb_messages_in_total", dimensions: [("platform", platform)], factory: factory)
    }
    /// The bridge sent a new message.
    public func messageSent(platform: String) { count("pb_messages_out_total", [("platform", platform)]) }
    /// The bridge edited one of its messages.
    public func editSent(platform: String) { count("pb_edits_total", [("platform", platform)]) }
    /// A reply's model request was admitted.
    public func replyStarted(platform: String) { count("pb_replies_started_total", [("platform", platform)]) }
    /// A reply finished normally.
    public func replyFinished(platform: String) { count("pb_replies_finished_total", [("platform", platform)]) }
    /// A reply ended with an error or was interrupted; `reason` is a short code.
    public func replyFailed(platform: String, reason: String) {
        count("pb_replies_failed_total", [("platform", platform), ("reason", reason)])
    }

    /// Time from sending the model request to its first text.
    public func modelFirstToken(_ duration: Duration) {
        CoreMetrics.Timer(label: "pb_model_first_token_seconds", dimensions: [], factory: factory)
            .recordNanoseconds(Self.nanoseconds(duration))
    }

    /// Time from sending the model request to the end of its stream.
    public func modelTotal(_ duration: Duration) {
        CoreMetrics.Timer(label: "pb_model_reply_seconds", dimensions: [], factory: factory)
            .recordNanoseconds(Self.nanoseconds(duration))
    }

    /// Tokens a model request used and their estimated cost in USD.
    public func tokens(platform: String, prompt: Int, completion: Int, cached: Int, costUSD: Double) {
        count("pb_tokens_total", [("platform", platform), ("kind", "prompt")], by: prompt)
        count("pb_tokens_total", [("platform", platform), ("kind", "completion")], by: completion)
        count("pb_tokens_total", [("platform", platform), ("kind", "cached")], by: cached)
        FloatingPointCounter(label: "pb_cost_usd_total", dimensions: [("platform", platform)], factory: factory)
            .increment(by: costUSD)
    }

    /// A request was refused by a budget or the rate limit; `scope` is `user`, `channel`, `server` or `rate`.
    public func budgetRefused(platform: String, scope: String) {
        count("pb_budget_refusals_total", [("platform", platform), ("scope", scope)])
    }

    /// The platform answered HTTP 429 (or its equivalent); the edit scheduler should make this rare.
    public func rateLimited(platform: String) { count("pb_rate_limited_total", [("platform", platform)]) }
    /// The adapter reconnected after losing its connection.
    public func reconnected(platform: String) { count("pb_reconnects_total", [("platform", platform)]) }
    /// Current length of an adapter's queue (`queue` names it, e.g. `outgoing`).
    public func queueDepth(platform: String, queue: String, depth: Int) {
        queueDepthGauge(platform: platform, queue: queue).record(depth)
    }

    /// The `queueDepth` gauge of one queue as a handle to keep, for a queue whose depth changes per event.
    public func queueDepthGauge(platform: String, queue: String) -> Gauge {
        Gauge(label: "pb_queue_depth", dimensions: [("platform", platform), ("queue", queue)], factory: factory)
    }

    private static func nanoseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}

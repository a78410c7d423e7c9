import BridgeCore
import CoreMetrics
import Prometheus

/// The process's Prometheus registry: swift-metrics emitted through it shows up on `/metrics`.
public final class MetricsRegistry: Sendable {
    /// Where collectors live.
    public let registry: PrometheusCollectorRegistry
    /// The swift-metrics factory writing into `registry`.
    public let factory: PrometheusMetricsFactory

    /// Creates an empty registry with histogram buckets suited to model latencies (up to two minutes).
    public init() {
        registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [
            .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2), .seconds(5),
            .seconds(10), .seconds(20), .seconds(30), .seconds(60), .seconds(120),
        ]
        self.factory = factory
    }

    /// Bridge metrics that write into this registry.
    public var bridgeMetrics: BridgeMetrics { BridgeMetrics(factory: factory) }

    /// Makes this registry the process-wide swift-metrics backend (call once, in `main`).
    public func bootstrapMetricsSystem() {
        MetricsSystem.bootstrap(factory)
    }

    /// The Prometheus text exposition of every metric.
    public func exposition() -> [UInt8] {
        registry.emitToBuffer()
    }
}

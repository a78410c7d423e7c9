import Foundation
import Testing
@testable import Observability
import SocketTransport

@Suite struct OperationsServerTests {
    @Test func respondsToTheThreeEndpoints() {
        let registry = MetricsRegistry()
        registry.bridgeMetrics.messageReceived(platform: "memory")
        let ready: @Sendable () -> OperationsServer.Readiness = { .init(notReady: ["irc"], draining: false) }
        let metrics = OperationsServer.respond(to: HTTPServerRequest(path: "/metrics"), metrics: registry, readiness: ready)
        #expect(metrics.status == 200)
        #expect(String(decoding: metrics.body, as: UTF8.self).contains("pb_messages_in_total{platform=\"memory\"} 1"))
        #expect(OperationsServer.respond(to: HTTPServerRequest(path: "/healthz"), metrics: registry, readiness: ready).status == 200)
        let readyz = OperationsServer.respond(to: HTTPServerRequest(path: "/readyz"), metrics: registry, readiness: ready)
        #expect(readyz.status == 503)
        #expect(String(decoding: readyz.body, as: UTF8.self).contains("irc"))
        #expect(OperationsServer.respond(to: HTTPServerRequest(path: "/nope"), metrics: registry, readiness: ready).status == 404)
    }
}

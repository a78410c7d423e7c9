import BridgeCore
import Logging
import ServiceLifecycle
import SocketTransport
import Storage

/// Serves `/metrics`, `/healthz` and `/readyz` as a `Service` until graceful shutdown.
///
/// Ready means every configured platform reports `isConnected`, the bridge is not shutting down, and the
/// store answered in time (fewer than three calls in a row overran their deadline).
public final class OperationsServer: Service, Sendable {
    /// What `/readyz` reports.
    public struct Readiness: Sendable, Hashable {
        /// Platforms that are not connected yet (or any more).
        public var notReady: [String]
        /// Whether shutdown has started.
        public var draining: Bool
        /// Store calls in a row that overran their deadline (0 when there is no `DeadlineStore`).
        public var storeDeadlineFailures: Int

        /// Creates a readiness report.
        public init(notReady: [String], draining: Bool, storeDeadlineFailures: Int = 0) {
            self.notReady = notReady
            self.draining = draining
            self.storeDeadlineFailures = storeDeadlineFailures
        }

        /// Whether the store answers in time: fewer than `StoreHealth.unhealthyAfter` deadline failures in a row.
        public var storeIsHealthy: Bool { storeDeadlineFailures < StoreHealth.unhealthyAfter }

        /// Whether `/readyz` answers 200.
        public var isReady: Bool { notReady.isEmpty && !draining && storeIsHealthy }
    }

    private let server: HTTPServer
    private let logger: Logger
    private let started = AsyncBox()

    /// Creates the server on `host`:`port` (port 0 picks a free one; `boundPort()` tells which).
    ///
    /// With `bearerToken`, `/metrics` answers only requests carrying `Authorization: Bearer <token>` (probes on
    /// `/healthz` and `/readyz` stay open: they reveal nothing).
    public init(host: String, port: Int, metrics: MetricsRegistry, logger: Logger, bearerToken: String? = nil,
                readiness: @escaping @Sendable () -> Readiness) {
        self.logger = logger
        let token = bearerToken.flatMap { $0.isEmpty ? nil : $0 }
        server = HTTPServer(host: host, port: port, logger: logger) { request in
            Self.respond(to: request, metrics: metrics, bearerToken: token, readiness: readiness)
        }
    }

    /// Whether `authorization` is `Bearer <token>`, compared in constant time.
    static func authorized(_ authorization: String?, token: String) -> Bool {
        guard let authorization, authorization.hasPrefix("Bearer ") else { return false }
        let given = Array(authorization.utf8.dropFirst("Bearer ".utf8.count))
        let expected = Array(token.utf8)
        var difference = UInt8(given.count == expected.count ? 0 : 1)
        for index in 0..<max(given.count, expected.count) {
            let a = index < given.count ? given[index] : 0
            let b = index < expected.count ? expected[index] : 0xFF
            difference |= a ^ b
        }
        return difference == 0
    }

    /// Readiness from a set of platforms, a router and the store's deadline record.
    public static func readiness(platforms: [any ChatPlatform], router: Router?, store: StoreHealth? = nil)
        -> @Sendable () -> Readiness
    {
        let boxed = PlatformList(platforms: platforms)
        return {
            Readiness(notReady: boxed.platforms.filter { !$0.isConnected }.map(\.platformName).sorted(),
                      draining: router?.isDraining ?? false, storeDeadlineFailures: store?.consecutiveDeadlineFailures ?? 0)
        }
    }

    static func respond(to request: HTTPServerRequest, metrics: MetricsRegistry, bearerToken: String? = nil,
                        readiness: @Sendable () -> Readiness) -> HTTPServerResponse {
        let path = request.path.split(separator: "?", maxSplits: 1).first.map(String.init) ?? request.path
        switch path {
        case "/metrics":
            if let bearerToken, !authorized(request.authorization, token: bearerToken) {
                return .text("unauthorized: send Authorization: Bearer <metrics token>\n", status: 401)
            }
            return HTTPServerResponse(status: 200, contentType: "text/plain; version=0.0.4; charset=utf-8",
                                      body: metrics.exposition())
        case "/healthz":
            return .text("ok\n")
        case "/readyz":
            let report = readiness()
            if report.isReady { return .text("ready\n") }
            var reasons: [String] = []
            if report.draining { reasons.append("shutting down") }
            if !report.notReady.isEmpty { reasons.append("not connected: " + report.notReady.joined(separator: ", ")) }
            if !report.storeIsHealthy {
                reasons.append("store: \(report.storeDeadlineFailures) calls in a row overran their deadline")
            }
            return .text("not ready: " + reasons.joined(separator: "; ") + "\n", status: 503)
        default:
            return .text("not found; try /metrics, /healthz or /readyz\n", status: 404)
        }
    }

    /// Binds the address; call before `run()` to fail fast on a bad address. Returns the bound port.
    @discardableResult
    public func start() async throws -> Int {
        let port = try await server.start()
        await started.set(port)
        return port
    }

    /// Listens (starting if needed) until graceful shutdown, then stops.
    public func run() async throws {
        if await started.value == nil { try await start() }
        try? await gracefulShutdown()
        await server.stop()
        logger.debug("http server stopped")
    }
}

/// The platforms readiness looks at; `ChatPlatform` values are `Sendable` but `[any ChatPlatform]` is not
/// provably so to the compiler.
private final class PlatformList: @unchecked Sendable {
    // Safe: written once in init, only read afterwards; each platform is itself Sendable (a Service).
    let platforms: [any ChatPlatform]
    init(platforms: [any ChatPlatform]) { self.platforms = platforms }
}

/// A value set once by one task and read by others.
private actor AsyncBox {
    var value: Int?
    func set(_ value: Int) { self.value = value }
}

import Foundation
import HTTPTransport
import Logging
import PBTestSupport

@testable import ModelClient

/// Drives `Tests/Servers/model_server.py`: start, script replies, read recorded requests.
final class FakeModelServer: Sendable {
    let server: TestServer
    let port: Int
    let http: HTTPClient

    static func start(arguments: [String] = []) async throws -> FakeModelServer {
        let (server, port) = try await startPythonServer("model_server.py", arguments: arguments)
        return FakeModelServer(server: server, port: port)
    }

    private init(server: TestServer, port: Int) {
        self.server = server
        self.port = port
        http = HTTPClient()
    }

    deinit {
        http.shutdown()
        server.stop()
    }

    /// The base URL to configure, e.g. `http://127.0.0.1:N/api/v1`.
    var baseURL: String { "http://127.0.0.1:\(port)/api/v1" }

    /// Queues reply specs (see the server's docstring).
    func script(_ replies: [[String: Any]]) async throws {
        _ = try await control("POST", "/_control/script", ["replies": replies])
    }

    /// Changes server-wide settings such as `reject_roles`.
    func configure(_ settings: [String: Any]) async throws {
        _ = try await control("POST", "/_control/config", settings)
    }

    /// Every completion request the server saw, oldest first.
    func requests() async throws -> [[String: Any]] {
        let object = try await control("GET", "/_control/requests", nil)
        guard let list = object as? [[String: Any]] else { throw TestServerError("bad /_control/requests reply") }
        return list
    }

    /// The JSON body of each recorded request.
    func requestBodies() async throws -> [[String: Any]] {
        try await requests().map { ($0["body"] as? [String: Any]) ?? [:] }
    }

    /// Polls until `condition` holds for the recorded requests or the deadline passes.
    func waitForRequests(
        timeout: Duration = .seconds(10), _ condition: ([[String: Any]]) -> Bool
    ) async throws -> [[String: Any]] {
        var list: [[String: Any]] = []
        do {
            try await eventually("the recorded requests", timeout: timeout) {
                list = try await requests()
                return condition(list)
            }
        } catch is TestServerError {}
        return list
    }

    private func control(_ method: String, _ path: String, _ payload: Any?) async throws -> Any {
        var request = HTTPRequest(
            method: method == "GET" ? .get : .post, url: "http://127.0.0.1:\(port)\(path)",
            headers: ["Content-Type": "application/json"])
        if let payload { request.body = Array(try JSONSerialization.data(withJSONObject: payload)) }
        let response = try await http.execute(request)
        let body = try await response.body.collect(upTo: 16 * 1024 * 1024)
        guard response.status == 200 else {
            throw TestServerError("control \(path) returned \(response.status): \(String(decoding: body, as: UTF8.self))")
        }
        return try JSONSerialization.jsonObject(with: Data(body))
    }

    /// A client for this server with fast retries, its own dialect memory and the given logger.
    func client(
        provider: ModelProvider = .openrouter, dialect: RoleDialect = .native, key: String = "sk-fake-key-0123456789",
        keyVariable: String = "OPENROUTER_API_KEY", maxAttempts: Int = 3, idleTimeout: Duration = .seconds(60),
        clock: any Clock<Duration> = ContinuousClock(), memory: RoleDialectMemory = RoleDialectMemory(),
        logger: Logger = Logger(label: "test.model"), httpClient: HTTPClient? = nil,
        configure: (inout ModelClientConfiguration) -> Void = { _ in }
    ) -> ModelSession {
        var configuration = ModelClientConfiguration(
            provider: provider, baseURL: baseURL, apiKey: APIKey(key, source: .environment(keyVariable)),
            dialect: dialect, maxAttempts: maxAttempts, initialBackoff: .milliseconds(20),
            maxBackoff: .milliseconds(100), idleTimeout: idleTimeout)
        configure(&configuration)
        return ModelSession(
            configuration: configuration, httpClient: httpClient ?? http, logger: logger, clock: clock,
            dialectMemory: memory)
    }
}

/// Collects a stream: events until the end, and the error if it failed.
func collect(_ stream: AsyncThrowingStream<ModelEvent, Error>) async -> (events: [ModelEvent], error: ModelError?) {
    var events: [ModelEvent] = []
    do {
        for try await event in stream { events.append(event) }
        return (events, nil)
    } catch let error as ModelError {
        return (events, error)
    } catch {
        return (events, ModelError(code: .transport, message: "non-ModelError thrown: \(error)"))
    }
}

extension [ModelEvent] {
    /// The deltas joined.
    var text: String {
        compactMap { if case .delta(let text) = $0 { text } else { nil } }.joined()
    }
    /// The delta events only.
    var deltas: [String] {
        compactMap { if case .delta(let text) = $0 { text } else { nil } }
    }
}

/// A clock that records every sleep and (optionally) really waits on the continuous clock.
final class RecordingClock: Clock, @unchecked Sendable {
    // `lock` guards `recorded`; everything else is immutable.
    typealias Instant = ContinuousClock.Instant
    private let base = ContinuousClock()
    private let lock = NSLock()
    private var recorded: [Duration] = []
    private let realSleep: Bool

    init(realSleep: Bool) { self.realSleep = realSleep }

    var now: Instant { base.now }
    var minimumResolution: Duration { base.minimumResolution }

    func sleep(until deadline: Instant, tolerance: Duration?) async throws {
        lock.withLock { recorded.append(deadline - base.now) }
        if realSleep {
            try await base.sleep(until: deadline, tolerance: tolerance)
        } else {
            try Task.checkCancellation()
        }
    }

    var sleeps: [Duration] { lock.withLock { recorded } }
}

/// A swift-log handler that keeps every line (message plus metadata) for assertions.

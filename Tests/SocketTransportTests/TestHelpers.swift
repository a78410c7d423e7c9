import Foundation
import Logging
import PBTestSupport
@testable import SocketTransport

let testLogger = Logger(label: "socket-transport-tests")

/// The CA that signs `Tests/Servers/certs/server.pem`.
let testCAFile = RepoPaths.servers.appendingPathComponent("certs/ca.pem").path

struct TimedOut: Error, CustomStringConvertible {
    let what: String
    var description: String { "timed out: \(what)" }
}

/// Runs `body`, failing with `TimedOut` instead of hanging.
func withTimeout<T: Sendable>(
    _ seconds: Int, _ what: String, _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await body() }
        group.addTask {
            // The deadline itself (it races `body`), not a wait for an event.
            try await Task.sleep(for: .seconds(seconds))
            throw TimedOut(what: what)
        }
        defer { group.cancelAll() }
        return try await group.next()!
    }
}

/// Starts `ws_server.py`; returns the server and its base URL.
func startWebSocketServer(tls: Bool = false) async throws -> (TestServer, String) {
    let (server, port) = try await startPythonServer("ws_server.py", arguments: tls ? ["--tls"] : [])
    return (server, tls ? "wss://localhost:\(port)" : "ws://127.0.0.1:\(port)")
}

/// Reads the next message or fails clearly if the stream ended.
func nextMessage(_ iterator: inout WebSocketMessages.AsyncIterator) async throws
    -> WebSocketMessage
{
    guard let message = try await iterator.next() else { throw TimedOut(what: "stream ended early") }
    return message
}

/// Bytes with a recognisable, non-repeating pattern.
func patternBytes(_ count: Int, seed: UInt32 = 7) -> [UInt8] {
    var state = seed
    return (0..<count).map { _ in
        state = state &* 1_664_525 &+ 1_013_904_223
        return UInt8(truncatingIfNeeded: state >> 24)
    }
}


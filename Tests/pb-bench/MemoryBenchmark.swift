import Foundation
import HTTPTransport
import Logging
import PBTestSupport
import SocketTransport

/// Resident-set growth of the transports under repeated use (moved here from the test suite: a memory
/// figure depends on the allocator and the machine's load, so it is a measurement, not a pass/fail test).
enum MemoryBenchmark {
    static func run() async throws {
        try await httpRequests()
        try await webSocketCycles()
    }

    /// RSS after 1,000 and after 10,000 keep-alive GETs of 100 bytes, 8 concurrent.
    static func httpRequests() async throws {
        let (server, port) = try await startPythonServer("http_server.py")
        defer { server.stop() }
        let client = HTTPClient()
        defer { client.shutdown() }
        let url = "http://127.0.0.1:\(port)/bytes?n=100"
        try await requests(1_000, client: client, url: url)
        let baseline = ProcessStats.residentBytes()
        let start = ContinuousClock.now
        try await requests(9_000, client: client, url: url)
        let elapsed = ContinuousClock.now - start
        let after = ProcessStats.residentBytes()
        say("HTTP: \(Int(9_000 / ProcessStats.seconds(elapsed))) req/s (8 concurrent, Python server); RSS \(baseline / 1024) KiB "
            + "after 1,000 requests, \(after / 1024) KiB after 10,000 (growth \((after - baseline) / 1024) KiB)")
    }

    private static func requests(_ count: Int, client: HTTPClient, url: String) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<8 {
                group.addTask {
                    for _ in stride(from: worker, to: count, by: 8) {
                        let response = try await client.execute(HTTPRequest(url: url))
                        let body = try await response.body.collect(upTo: 1024)
                        guard response.status == 200, body.count == 100 else {
                            throw TestServerError("bad response \(response.status) with \(body.count) bytes")
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
    }

    /// RSS after 500 and after 2,000 websocket connect/echo/close cycles.
    static func webSocketCycles() async throws {
        let (server, port) = try await startPythonServer("ws_server.py")
        defer { server.stop() }
        let logger = Logger(label: "pb-bench.ws")
        var baseline = 0
        for cycle in 1...2_000 {
            let socket = try await WebSocket.connect(url: "ws://127.0.0.1:\(port)/echo", logger: logger)
            try await socket.send(text: "cycle \(cycle)")
            var iterator = socket.messages.makeAsyncIterator()
            guard case .text("cycle \(cycle)") = try await iterator.next() else {
                throw TestServerError("wrong echo in cycle \(cycle)")
            }
            await socket.close()
            if cycle == 500 { baseline = ProcessStats.residentBytes() }
        }
        let after = ProcessStats.residentBytes()
        say("WebSocket connect/close: RSS \(baseline / 1024) KiB after 500 cycles, \(after / 1024) KiB after 2,000 "
            + "(growth \((after - baseline) / 1024) KiB)")
    }
}

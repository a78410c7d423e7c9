import Foundation
import HTTPTransport
import PBTestSupport
import SocketTransport

/// Loopback throughput of the transports against `Tests/Servers/bench_server.py`.
enum TransportBenchmark {
    static func run() async throws {
        let port = try freeLoopbackPort()
        let python = findExecutable("python3") ?? "python3"
        let script = RepoPaths.root.appendingPathComponent("Tests/Servers/bench_server.py").path
        let server = try TestServer(executable: python, arguments: [script, "--port", String(port)])
        defer { server.stop() }
        try await server.waitForOutput("READY")
        let base = "http://127.0.0.1:\(port)"

        let client = HTTPClient()
        defer { client.shutdown() }

        // HTTP requests/s: 32 workers doing sequential keep-alive GETs.
        let requests = 20_000
        let workers = 32
        var start = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<workers {
                group.addTask {
                    for _ in 0..<(requests / workers) {
                        let response = try await client.execute(HTTPRequest(url: base + "/small"))
                        _ = try await response.body.collect(upTo: 1024)
                    }
                }
            }
            try await group.waitForAll()
        }
        report("HTTP requests", count: requests / workers * workers, since: start, unit: "req/s")

        // SSE events/s on one stream.
        let events = 200_000
        start = ContinuousClock.now
        let response = try await client.execute(HTTPRequest(url: base + "/sse?n=\(events)"))
        var seen = 0
        var previous: UInt8 = 0
        for try await chunk in response.body {
            for byte in chunk {
                if byte == 0x0A && previous == 0x0A { seen += 1 }
                previous = byte
            }
        }
        precondition(seen == events, "SSE: expected \(events) events, got \(seen)")
        report("SSE events", count: seen, since: start, unit: "events/s")

        try await WebSocketBenchmark.run(port: port)
    }

    static func report(_ what: String, count: Int, since start: ContinuousClock.Instant, unit: String) {
        let elapsed = ContinuousClock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let rate = Double(count) / seconds
        say("\(what): \(count) in \(String(format: "%.2f", seconds)) s = \(String(format: "%.0f", rate)) \(unit)")
    }
}

import Foundation
import HTTPTransport
import PBTestSupport
import Testing

/// Many requests and a long event stream; serialized so the two loads do not compete.
@Suite(.serialized) struct HTTPClientLoadTests {
    /// Runs `count` GETs over `workers` concurrent loops; returns elapsed time.
    private func cycles(_ count: Int, workers: Int, client: HTTPClient, url: String) async throws -> Duration {
        let start = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<workers {
                group.addTask {
                    for _ in stride(from: worker, to: count, by: workers) {
                        let response = try await client.execute(HTTPRequest(url: url, headers: ["Authorization": "Bearer t"]))
                        let body = try await response.body.collect(upTo: 1024)
                        guard response.status == 200, body.count == 100 else {
                            throw TestServerError("bad response \(response.status) with \(body.count) bytes")
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        return ContinuousClock.now - start
    }

    /// Ten thousand keep-alive requests all succeed. Their memory and speed are measured by
    /// `pb-bench memory`, not asserted here (an RSS bound flakes with the allocator and the machine's load).
    @Test func tenThousandRequestsAllSucceed() async throws {
        try await withHTTPServer { _, port in
            let client = HTTPClient()
            defer { client.shutdown() }
            _ = try await cycles(10_000, workers: 8, client: client, url: "http://127.0.0.1:\(port)/bytes?n=100")
        }
    }

    @Test func twentyThousandSSEEventsAllArrive() async throws {
        try await withHTTPServer { _, port in
            let client = HTTPClient()
            defer { client.shutdown() }
            let count = 20_000
            let response = try await client.execute(
                HTTPRequest(url: "http://127.0.0.1:\(port)/drip?count=\(count)&ms=0&tag=e"))
            var text: [UInt8] = []
            for try await chunk in response.body { text += chunk }
            let events = text.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true).count
            #expect(events == count)
        }
    }
}

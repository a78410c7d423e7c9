import Foundation
import HTTPTransport
import PBTestSupport
import Testing

/// Resident set size of this process in bytes, from /proc/self/statm.
func residentBytes() throws -> Int {
    let text = try String(contentsOfFile: "/proc/self/statm", encoding: .utf8)
    let fields = text.split(separator: " ")
    let pages = try #require(fields.count > 1 ? Int(fields[1]) : nil)
    return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
}

/// Memory and throughput checks; serialized so one's allocations do not skew the other's RSS.
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

    @Test func rssStaysFlatOverTenThousandRequests() async throws {
        try await withHTTPServer { _, port in
            let client = HTTPClient()
            defer { client.shutdown() }
            let url = "http://127.0.0.1:\(port)/bytes?n=100"
            _ = try await cycles(1_000, workers: 8, client: client, url: url)
            let baseline = try residentBytes()
            let elapsed = try await cycles(9_000, workers: 8, client: client, url: url)
            let after = try residentBytes()
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            print("HTTP: \(Int(9_000 / seconds)) req/s (loopback, 8 concurrent, Python server)")
            print("HTTP RSS: \(baseline / 1024) KiB after 1,000 requests, \(after / 1024) KiB after 10,000")
            #expect(after - baseline < 10 * 1024 * 1024)
        }
    }

    @Test func sseEventThroughputIsMeasured() async throws {
        try await withHTTPServer { _, port in
            let client = HTTPClient()
            defer { client.shutdown() }
            let count = 20_000
            let start = ContinuousClock.now
            let response = try await client.execute(
                HTTPRequest(url: "http://127.0.0.1:\(port)/drip?count=\(count)&ms=0&tag=e"))
            var text: [UInt8] = []
            for try await chunk in response.body { text += chunk }
            let elapsed = ContinuousClock.now - start
            let events = text.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true).count
            #expect(events == count)
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            print("SSE: \(Int(Double(events) / seconds)) events/s (loopback, one stream, Python server)")
        }
    }
}

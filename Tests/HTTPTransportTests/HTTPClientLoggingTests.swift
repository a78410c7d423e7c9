import Foundation
import HTTPTransport
import Logging
import PBTestSupport
import Testing


@Suite struct HTTPClientLoggingTests {
    @Test func traceLogsNameTheRequestButNeverHeaderValues() async throws {
        try await withHTTPServer { _, port in
            let logs = LogCapture()
            let logger = logs.logger(label: "test.http")
            let client = HTTPClient(logger: logger)
            defer { client.shutdown() }
            let secret = "sk-very-secret-token-123"
            let response = try await client.execute(
                HTTPRequest(
                    method: .post, url: "http://127.0.0.1:\(port)/echo", headers: ["Authorization": "Bearer \(secret)"],
                    body: Array("payload-\(secret)".utf8)))
            let body = try await response.body.collect(upTo: 1 << 20)
            #expect(String(decoding: body, as: UTF8.self).contains(secret))  // it was really sent
            let lines = logs.lines
            #expect(lines.contains { $0.contains("POST") && $0.contains("/echo") && $0.contains("status=200") })
            #expect(lines.contains { $0.contains("request-id=") })
            #expect(!lines.contains { $0.contains(secret) }, "a log line leaked the secret: \(lines)")
        }
    }
}

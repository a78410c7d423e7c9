import Foundation
import HTTPTransport
import Logging
import PBTestSupport
import Testing

/// Collects every log line with its metadata, rendered as text.
final class CapturedLogs: @unchecked Sendable {
    // Safe: `lines` is only touched under `lock`.
    private let lock = NSLock()
    private var lines: [String] = []

    func append(_ line: String) { lock.withLock { lines.append(line) } }
    var all: [String] { lock.withLock { lines } }
}

struct CapturingLogHandler: LogHandler {
    let logs: CapturedLogs
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        logs.append("\(event.message) \(merged.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" })")
    }
}

@Suite struct HTTPClientLoggingTests {
    @Test func traceLogsNameTheRequestButNeverHeaderValues() async throws {
        try await withHTTPServer { _, port in
            let logs = CapturedLogs()
            let logger = Logger(label: "test.http") { _ in CapturingLogHandler(logs: logs) }
            let client = HTTPClient(logger: logger)
            defer { client.shutdown() }
            let secret = "sk-very-secret-token-123"
            let response = try await client.execute(
                HTTPRequest(
                    method: .post, url: "http://127.0.0.1:\(port)/echo", headers: ["Authorization": "Bearer \(secret)"],
                    body: Array("payload-\(secret)".utf8)))
            let body = try await response.body.collect(upTo: 1 << 20)
            #expect(String(decoding: body, as: UTF8.self).contains(secret))  // it was really sent
            let lines = logs.all
            #expect(lines.contains { $0.contains("POST") && $0.contains("/echo") && $0.contains("status=200") })
            #expect(lines.contains { $0.contains("request-id=") })
            #expect(!lines.contains { $0.contains(secret) }, "a log line leaked the secret: \(lines)")
        }
    }
}

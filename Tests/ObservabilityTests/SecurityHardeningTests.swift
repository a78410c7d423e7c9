import Foundation
import HTTPTransport
import Logging
import PBTestSupport
import SocketTransport
import Testing
@testable import Observability

/// The log scrubber against JSON escaping and uncovered token paths, and the metrics endpoint's limits.
@Suite struct SecurityHardeningTests {
    final class Capture: @unchecked Sendable {
        // Safe: only read after the writes (sequential test).
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("pb-log-\(UUID().uuidString)").path
        init() { _ = FileManager.default.createFile(atPath: path, contents: nil) }
        deinit { try? FileManager.default.removeItem(atPath: path) }
        var sink: LogSink { LogSink(FileHandle(forWritingAtPath: path)!) }
        var text: String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }
    }

    /// Point 3: JSON output escapes `/` as `\/`, which hid webhook URLs from the scrubber; interaction tokens
    /// and Matrix access tokens were not covered at all.
    @Test func tokensSurviveNeitherJSONEscapingNorErrorDescriptions() throws {
        let capture = Capture()
        let logger = Logger(label: "pb") { BridgeLogHandler(label: $0, format: .json, level: .trace, sink: capture.sink) }
        let webhook = "https://discord.com/api/v10/webhooks/123456789012345678/WeBhOoK-ToKeN_abcdefghijklmnop?wait=true"
        let interaction = "https://discord.com/api/v10/interactions/987654321/aW50ZXJhY3Rpb24tdG9rZW4tc2VjcmV0/callback"
        let error = HTTPClientError(code: .connectFailed, message: "connection refused", url: webhook)
        logger.trace("request failed", metadata: ["error": "\(error)", "url": "\(interaction)"])
        logger.debug("matrix sync", metadata: ["url": "https://hs.example/_matrix/client/v3/sync?access_token=syt_Ym90_SeCrEt_1a2b3c&since=s1",
                                               "header": "Authorization: Bearer syt_Ym90_OtHeR_4d5e6f"])
        logger.info("body \(#"{"token":"aW50ZXJhY3Rpb24tdG9rZW4tc2VjcmV0","id":"1"}"#)")
        let text = capture.text
        for secret in ["WeBhOoK-ToKeN_abcdefghijklmnop", "aW50ZXJhY3Rpb24tdG9rZW4tc2VjcmV0", "SeCrEt_1a2b3c", "OtHeR_4d5e6f"] {
            #expect(!text.contains(secret), "\(secret) reached the JSON log:\n\(text)")
        }
        #expect(text.split(separator: "\n").count == 3)
        // The error itself names the route, not the path.
        #expect("\(error)".contains("/webhooks/{id}/{token}"), "\(error)")
        #expect(!"\(error)".contains("wait=true"))
        #expect(HTTPClientError.redacted(interaction) == "https://discord.com/api/v10/interactions/{id}/{token}/callback")
        #expect(HTTPClientError.redacted("https://user:pw@h.example/a?access_token=x") == "https://h.example/a")
    }

    /// Point 13: with a token file configured, `/metrics` wants `Authorization: Bearer <token>`; probes stay open.
    @Test func metricsWithoutTheBearerTokenAreRefused() {
        let registry = MetricsRegistry()
        let ready: @Sendable () -> OperationsServer.Readiness = { .init(notReady: [], draining: false) }
        func status(_ path: String, _ authorization: String?) -> Int {
            OperationsServer.respond(to: HTTPServerRequest(path: path, authorization: authorization), metrics: registry,
                                     bearerToken: "s3cret-metrics-token", readiness: ready).status
        }
        #expect(status("/metrics", nil) == 401)
        #expect(status("/metrics", "Bearer wrong") == 401)
        #expect(status("/metrics", "Bearer s3cret-metrics-tokenX") == 401)
        #expect(status("/metrics", "Basic s3cret-metrics-token") == 401)
        #expect(status("/metrics", "Bearer s3cret-metrics-token") == 200)
        #expect(status("/healthz", nil) == 200)
        #expect(status("/readyz", nil) == 200)
        #expect(OperationsServer.respond(to: HTTPServerRequest(path: "/metrics"), metrics: registry, readiness: ready).status == 200,
                "no token configured: open as before")
    }

    /// Point 13: an oversized request is refused (not truncated and served), and a connection that sends nothing
    /// is closed by the server's read timeout.
    @Test func oversizedRequestIsRefusedAndASilentConnectionIsClosed() async throws {
        let server = HTTPServer(host: "127.0.0.1", port: 0, logger: Logger(label: "test")) { request in
            .text("served \(request.path.count) bytes of path")
        }
        let port = try await server.start()
        let client = HTTPClient()
        defer { client.shutdown() }
        func status(_ path: String, headers: HTTPHeaders = HTTPHeaders()) async -> Int {
            do {
                let response = try await client.execute(HTTPRequest(url: "http://127.0.0.1:\(port)\(path)", headers: headers,
                                                                    timeouts: .init(connect: .seconds(10), total: .seconds(30))))
                _ = try await response.body.collect(upTo: 1 << 20)
                return response.status
            } catch {
                return -1  // lws dropped the connection: also refused
            }
        }
        #expect(await status("/metrics") == 200)
        // A path longer than the 2 KiB buffer used to be cut short and served.
        #expect(await status("/" + String(repeating: "a", count: 3_000)) == 431)
        var padded = HTTPHeaders()
        padded.add(name: "X-Pad", value: String(repeating: "p", count: 8_000))
        #expect(await status("/metrics", headers: padded) != 200, "a request past the 4 KiB header limit was served")
        // A client that connects and says nothing is dropped by lws after the vhost timeout (10 s); allow plenty.
        let started = ContinuousClock.now
        let socket = try await LineSocket.connect(host: "127.0.0.1", port: port, logger: Logger(label: "test.silent"))
        var closed = false
        do {
            for try await _ in socket.lines { break }
            closed = true
        } catch {
            closed = true
        }
        #expect(closed)
        #expect(ContinuousClock.now - started < .seconds(120))
        await socket.close()
        await server.stop()
    }
}

import Foundation
import Testing
@testable import Observability
import SocketTransport
@testable import Storage

@Suite struct OperationsServerTests {
    @Test func respondsToTheThreeEndpoints() {
        let registry = MetricsRegistry()
        registry.bridgeMetrics.messageReceived(platform: "memory")
        let ready: @Sendable () -> OperationsServer.Readiness = { .init(notReady: ["irc"], draining: false) }
        let metrics = OperationsServer.respond(to: HTTPServerRequest(path: "/metrics"), metrics: registry, readiness: ready)
        #expect(metrics.status == 200)
        #expect(String(decoding: metrics.body, as: UTF8.self).contains("pb_messages_in_total{platform=\"memory\"} 1"))
        #expect(OperationsServer.respond(to: HTTPServerRequest(path: "/healthz"), metrics: registry, readiness: ready).status == 200)
        let readyz = OperationsServer.respond(to: HTTPServerRequest(path: "/readyz"), metrics: registry, readiness: ready)
        #expect(readyz.status == 503)
        #expect(String(decoding: readyz.body, as: UTF8.self).contains("irc"))
        #expect(OperationsServer.respond(to: HTTPServerRequest(path: "/nope"), metrics: registry, readiness: ready).status == 404)
        let draining: @Sendable () -> OperationsServer.Readiness = { .init(notReady: [], draining: true) }
        let shuttingDown = OperationsServer.respond(to: HTTPServerRequest(path: "/readyz"), metrics: registry, readiness: draining)
        #expect(shuttingDown.status == 503)
        #expect(String(decoding: shuttingDown.body, as: UTF8.self).contains("shutting down"))
        let fine: @Sendable () -> OperationsServer.Readiness = { .init(notReady: [], draining: false) }
        #expect(OperationsServer.respond(to: HTTPServerRequest(path: "/readyz"), metrics: registry, readiness: fine).status == 200)
    }

    @Test func threeStoreDeadlineFailuresInARowMakeTheProcessNotReady() async throws {
        let registry = MetricsRegistry()
        let health = StoreHealth()
        let base = try SQLiteStore.inMemory()
        let store = DeadlineStore(base, deadline: .milliseconds(20), health: health)
        let readiness = OperationsServer.readiness(platforms: [], router: nil, store: health)
        func readyz() -> (Int, String) {
            let response = OperationsServer.respond(to: HTTPServerRequest(path: "/readyz"), metrics: registry, readiness: readiness)
            return (response.status, String(decoding: response.body, as: UTF8.self))
        }
        for failure in 1...3 {
            #expect(readyz().0 == 200, "still ready before deadline failure \(failure)")
            // A call that does not answer in time overruns its deadline (it ends when the deadline cancels it): the
            // long sleep is the stuck store, which the deadline cuts short.
            await #expect(throws: StorageError.self) { try await store.run("stuck") { _ in try? await Task.sleep(for: .seconds(600)) } }
        }
        let (status, body) = readyz()
        #expect(status == 503)
        #expect(body.contains("store: 3 calls in a row overran their deadline"), "\(body)")
        // The call in time goes through a generous deadline on the same health record: 20 ms is too tight for a
        // loaded machine (a fresh-clone run saw an in-memory read overrun it).
        let patient = DeadlineStore(base, deadline: .seconds(30), health: health)
        _ = try await patient.messageCount(in: ChannelKey(platform: "p", channelID: "c"))
        #expect(readyz().0 == 200, "one call in time makes it ready again")
    }
}

import BridgeCore
import HTTPTransport
import Logging
import PBTestSupport
import ServiceLifecycle

@Suite struct HTTPServerTests {
    static func get(_ client: HTTPClient, _ url: String) async throws -> (Int, String, String?) {
        let response = try await client.execute(HTTPRequest(url: url, timeouts: .init(connect: .seconds(10), total: .seconds(30))))
        let body = try await response.body.collect(upTo: 10_000_000)
        return (response.status, String(decoding: body, as: UTF8.self), response.headers["content-type"])
    }

    /// Whether a stopped server answers nothing on `port`: lws 4.1.6 may keep the listening socket until the
    /// process ends, so a request is either refused or closed without a response.
    static func answersNothing(_ port: Int) async -> Bool {
        let client = HTTPClient()
        defer { client.shutdown() }
        do {
            _ = try await get(client, "http://127.0.0.1:\(port)/healthz")
            return false
        } catch {
            return true
        }
    }

    @Test func servesSmallAndLargeBodiesOnAFreePortAndStops() async throws {
        let big = String(repeating: "0123456789abcdef", count: 20_000)  // 320 kB: many writeable callbacks
        let server = HTTPServer(host: "127.0.0.1", port: 0, logger: Logger(label: "test")) { request in
            switch request.path {
            case "/big": .text(big)
            case "/echo": .text("no query")
            default: .text("path \(request.path)", status: 404)
            }
        }
        let port = try await server.start()
        #expect(port > 0)
        let client = HTTPClient()
        defer { client.shutdown() }
        for _ in 0..<3 {
            let (status, body, type) = try await Self.get(client, "http://127.0.0.1:\(port)/big")
            #expect(status == 200)
            #expect(body == big)
            #expect(type?.hasPrefix("text/plain") == true)
        }
        #expect(try await Self.get(client, "http://127.0.0.1:\(port)/echo?x=1").1 == "no query", "the path comes without the query")
        let (status, body, _) = try await Self.get(client, "http://127.0.0.1:\(port)/missing")
        #expect(status == 404)
        #expect(body == "path /missing")
        // Concurrent scrapes.
        try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<8 { group.addTask { try await Self.get(client, "http://127.0.0.1:\(port)/big").0 } }
            for try await status in group { #expect(status == 200) }
        }
        client.shutdown()
        await server.stop()
        await server.stop()
        #expect(await Self.answersNothing(port), "stopped servers answer nothing")
    }

    @Test func bindsAllInterfacesForContainers() async throws {
        let server = HTTPServer(host: "0.0.0.0", port: 0, logger: Logger(label: "test")) { _ in .text("any") }
        let port = try await server.start()
        let client = HTTPClient()
        defer { client.shutdown() }
        #expect(try await Self.get(client, "http://127.0.0.1:\(port)/").1 == "any")
        await server.stop()
    }

    @Test func aPortInUseFailsToStartWithBindFailed() async throws {
        // Another process holds the port (vhosts of this process would share it instead).
        // It binds port 0 and reports the port it got, so no other process can take the port in between.
        let holder = try TestServer(executable: "python3", arguments: ["-c", """
            import socket, time
            s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(); print("READY", s.getsockname()[1], flush=True)
            time.sleep(60)
            """])
        defer { holder.stop() }
        let port = try await eventuallyValue("the holder's READY line", detail: { holder.output }) { () -> Int? in
            // Only a whole line: the port's digits may still be arriving.
            let lines = holder.output.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
            return lines.first { $0.hasPrefix("READY ") }.flatMap { Int($0.dropFirst("READY ".count)) }
        }
        let server = HTTPServer(host: "127.0.0.1", port: port, logger: Logger(label: "test")) { _ in .text("two") }
        let error = await #expect(throws: HTTPServerError.self) { try await server.start() }
        #expect(error?.code == .bindFailed)
    }

    @Test func readyzFollowsPlatformConnectionsAndShutdown() async throws {
        let registry = MetricsRegistry()
        let platform = InMemoryPlatform()
        platform.setConnected(false)
        let server = OperationsServer(host: "127.0.0.1", port: 0, metrics: registry, logger: Logger(label: "test"),
                                      readiness: OperationsServer.readiness(platforms: [platform], router: nil))
        let port = try await server.start()
        let client = HTTPClient()
        defer { client.shutdown() }
        let url = "http://127.0.0.1:\(port)"
        let (notReady, why, _) = try await Self.get(client, url + "/readyz")
        #expect(notReady == 503)
        #expect(why.contains("memory"))
        #expect(try await Self.get(client, url + "/healthz").0 == 200, "alive even when not ready")
        platform.setConnected(true)
        #expect(try await Self.get(client, url + "/readyz").0 == 200)

        let group = ServiceGroup(configuration: .init(services: [.init(service: server)], logger: Logger(label: "test")))
        let running = Task { try await group.run() }
        #expect(try await Self.get(client, url + "/healthz").0 == 200)
        await group.triggerGracefulShutdown()
        try await running.value
        #expect(await Self.answersNothing(port), "the endpoint stops with the service group")
    }
}

@Suite struct BridgeLogHandlerTests {
    final class Capture: @unchecked Sendable {
        // Safe: only read after the writes (sequential test).
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("pb-log-\(UUID().uuidString)").path
        init() { _ = FileManager.default.createFile(atPath: path, contents: nil) }
        deinit { try? FileManager.default.removeItem(atPath: path) }
        var sink: LogSink { LogSink(FileHandle(forWritingAtPath: path)!) }
        var text: String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }
    }

    @Test func jsonLinesCarryMetadataAndScrubSecrets() throws {
        let capture = Capture()
        SecretScrubber.shared.register("sk-very-secret-123456")
        SecretScrubber.shared.register("abc")  // too short to scrub safely; ignored
        var logger = Logger(label: "pb") { label in
            BridgeLogHandler(label: label, format: .json, level: .trace, sink: capture.sink)
        }
        logger[metadataKey: "platform"] = "irc"
        logger.trace("sending", metadata: ["channel": "#test", "header": "Bearer sk-very-secret-123456"])
        logger.info("abc is a word")
        let lines = capture.text.split(separator: "\n")
        #expect(lines.count == 2)
        let first = try #require(try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: String])
        #expect(first["level"] == "trace")
        #expect(first["platform"] == "irc")
        #expect(first["channel"] == "#test")
        #expect(first["message"] == "sending")
        #expect(first["header"] == "Bearer ***")
        #expect(!capture.text.contains("sk-very-secret"))
        #expect(capture.text.contains("abc is a word"))
    }

    @Test func jsonLinesEscapeEveryStringAndSortKeysByCodePoint() throws {
        let capture = Capture()
        let logger = Logger(label: "pb") { label in
            BridgeLogHandler(label: label, format: .json, level: .info, sink: capture.sink)
        }
        let tricky = "quote \" backslash \\ newline \n tab \t bell \u{07} del \u{7F} sep \u{2028} é 🎭 / done"
        logger.info("\(tricky)", metadata: ["Zeta": "z", "alpha": .array(["a", .dictionary(["k": "v\r"])]), "émoji": "🎭"])
        let lines = capture.text.split(separator: "\n")
        #expect(lines.count == 1, "a line break inside a value must stay escaped: \(capture.text)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])
        #expect(object["message"] as? String == tricky)
        #expect(object["émoji"] as? String == "🎭")
        let alpha = try #require(object["alpha"] as? [Any])
        #expect(alpha.first as? String == "a")
        #expect((alpha.last as? [String: String])?["k"] == "v\r")
        let text = String(lines[0])
        let order = ["Zeta", "alpha", "label", "level", "message", "time", "émoji"].map { text.range(of: "\"\($0)\":")?.lowerBound }
        #expect(order.allSatisfy { $0 != nil } && zip(order, order.dropFirst()).allSatisfy { $0! < $1! }, "\(text)")
    }

    @Test func tokensInURLsAreScrubbedToo() {
        let scrubber = SecretScrubber()
        #expect(scrubber.scrub("POST https://discord.com/api/v10/webhooks/123456/AbC-def_9.x?wait=true")
            == "POST https://discord.com/api/v10/webhooks/123456/***?wait=true")
        #expect(scrubber.scrub("GET /_matrix/client/v3/sync?access_token=syt_abc&since=s1")
            == "GET /_matrix/client/v3/sync?access_token=***&since=s1")
        #expect(scrubber.scrub("a=b and api_key=xyz") == "a=b and api_key=***")
        #expect(scrubber.scrub("plain text") == "plain text")
        #expect(scrubber.scrub(#"{"url":"https:\/\/discord.com\/api\/v10\/interactions\/99\/aW50ZXJhY3Rpb24"}"#)
            == #"{"url":"https:\/\/discord.com\/api\/v10\/interactions\/99\/***"}"#)
        #expect(scrubber.scrub("URL ?TOKEN=abc123&x=1 and Password=hunter22 secret=s3") == "URL ?TOKEN=***&x=1 and Password=*** secret=***")
        #expect(scrubber.scrub(#"body {"access_token": "syt_dGVzdA_abc", "Token":"xyz"}"#)
            == #"body {"access_token": "***", "Token":"***"}"#)
        #expect(scrubber.scrub("Authorization: Bot MTIzNDU2Nzg5MDEyMzQ1Njc4.Gx-abc and Bearer sk-or-v1-0123456789abcdef")
            == "Authorization: Bot *** and Bearer ***")
        #expect(scrubber.scrub("the bot said hi to Bot Bob") == "the bot said hi to Bot Bob")
        #expect(scrubber.scrub("token syr_abc-DEF_1 then mct_xyz") == "token syr_*** then mct_***")
        #expect(scrubber.scrub("ünïcödé text, no secrets: robot=1") == "ünïcödé text, no secrets: robot=1")
    }

    @Test func textFormatIsOneHumanLine() {
        let capture = Capture()
        let logger = Logger(label: "pb") { label in
            BridgeLogHandler(label: label, format: .text, level: .info, sink: capture.sink)
        }
        logger.debug("hidden")
        logger.warning("reply interrupted", metadata: ["platform": "discord", "channel": "42"])
        let text = capture.text
        #expect(!text.contains("hidden"))
        #expect(text.hasSuffix("warning pb: reply interrupted channel=42 platform=discord\n"), "\(text)")
        #expect(BridgeLogHandler.Format.resolve("auto", isTerminal: true) == .text)
        #expect(BridgeLogHandler.Format.resolve("auto", isTerminal: false) == .json)
        #expect(BridgeLogHandler.Format.resolve("text", isTerminal: false) == .text)
    }
}

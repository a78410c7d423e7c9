import Foundation
import PBTestSupport
import Testing

/// `persona-bridge run` as a process: graceful shutdown, metrics, budgets and secret-free logs, with the
/// `jsonl` adapter (any number of channels over stdin/stdout) and the fake model server.
@Suite(.serialized) struct OperationsProcessTests {
    static let notice = "(reply interrupted: the bridge is restarting)"

    static func marker(_ spec: [String: Any]) throws -> String {
        "<<fake " + String(decoding: try JSONSerialization.data(withJSONObject: spec, options: [.sortedKeys]), as: UTF8.self) + ">>"
    }

    /// Polls `condition` until it holds; fails with `what` and the bridge output on timeout.
    static func waitUntil(_ what: String, bridge: TestServer, timeout: Duration = .seconds(60),
                          _ condition: () async throws -> Bool) async throws {
        try await eventually(what, timeout: timeout, detail: { "Bridge output:\n\(bridge.output)" }, condition)
    }

    @Test func sigtermDuringTenConcurrentStreamedRepliesFinishesEveryReplyAndExitsZero() async throws {
        let fixture = try await OperationsFixture()
        let channels = (1...10).map { "c\($0)" }
        // The default grace period (10 s) applies.
        try fixture.writeConfig(channels: channels, extra: """
            [operations]
            log_format = "json"
            """)
        // Odd channels stream a short reply that ends inside the grace period; even channels one of two minutes.
        var expected: [String: String] = [:]
        var input: [[String: Any]] = []
        for (index, channel) in channels.enumerated() {
            let slow = index % 2 == 1
            let text = slow ? (1...400).map { "slow\($0)" }.joined(separator: " ") : "quick reply for \(channel) done"
            expected[channel] = text
            let spec: [String: Any] = ["text": text, "token_interval": slow ? 0.3 : 0.25, "first_token_delay": 0.5]
            input.append(["channel": channel, "user": "u\(index)", "text": "go " + (try Self.marker(spec))])
        }
        let bridge = try fixture.startBridge(input: input)
        defer { bridge.stop() }
        try await bridge.waitForOutput("{\"op\":\"ready\"}")
        try await Self.waitUntil("10 streaming model requests", bridge: bridge) {
            let requests = try await fixture.modelRequests()
            return requests.count == 10 && requests.contains { ($0["tokens_sent"] as? Int ?? 0) >= 2 }
        }
        kill(bridge.pid, SIGTERM)
        let code = try await bridge.waitForExit(timeout: .seconds(60))
        let output = try await finalOutput(of: bridge)
        #expect(code == 0, "exit status; output:\n\(output)")
        #expect(output.contains("{\"op\":\"closed\"}"), "the adapter closed cleanly")

        let transcript = BridgeTranscript(output)
        for (index, channel) in channels.enumerated() {
            let messages = transcript.messages(in: channel)
            let full = try #require(expected[channel])
            try #require(messages.count == 1, "\(channel) should have one reply message: \(messages)")
            let final = messages[0]
            if final == full {
                #expect(index % 2 == 0, "\(channel): the long reply cannot have finished within the grace period")
                continue
            }
            #expect(final.hasSuffix(Self.notice), "\(channel): neither full text nor partial text plus notice: \(final)")
            let partial = final.hasSuffix("\n\n" + Self.notice)
                ? String(final.dropLast(Self.notice.count + 2)) : String(final.dropLast(Self.notice.count))
            #expect(full.hasPrefix(partial), "\(channel): the partial text must be the start of the reply: \(partial)")
            #expect(index % 2 == 1, "\(channel): the short reply should have finished within the grace period")
        }
        let requests = try await fixture.modelRequests()
        #expect(requests.count == 10, "no request after the signal")
        #expect(try await fixture.integrityCheck() == "ok")
        let replies = try await fixture.query("SELECT count(*) FROM reply")
        #expect(replies == ["10"], "every reply is recorded: \(replies)")
        #expect(output.contains("grace period over"), "the long replies were cut off at the grace period")
    }

    @Test func aSecondSignalForcesExit() async throws {
        let fixture = try await OperationsFixture()
        try fixture.writeConfig(channels: ["c1"], extra: """
            [operations]
            shutdown_grace_seconds = 120
            log_format = "json"
            log_level = "info"
            """)
        let spec: [String: Any] = ["text": (1...200).map { "w\($0)" }.joined(separator: " "), "token_interval": 0.5]
        let bridge = try fixture.startBridge(input: [["channel": "c1", "user": "u1", "text": "go " + (try Self.marker(spec))]])
        defer { bridge.stop() }
        try await bridge.waitForOutput("{\"op\":\"ready\"}")
        try await Self.waitUntil("the reply to stream", bridge: bridge) {
            try await fixture.modelRequests().contains { ($0["tokens_sent"] as? Int ?? 0) >= 1 }
        }
        kill(bridge.pid, SIGTERM)
        try await bridge.waitForOutput("shutting down: no new replies")
        #expect(bridge.isRunning, "the first signal waits for the reply (grace 120 s)")
        kill(bridge.pid, SIGTERM)
        let code = try await bridge.waitForExit(timeout: .seconds(30))
        #expect(code == 130, "output:\n\(bridge.output)")
        #expect(bridge.output.contains("second signal"))
    }

    @Test func metricsParseAsPrometheusAndCountersMoveWithReplies() async throws {
        let fixture = try await OperationsFixture()
        try fixture.writeConfig(channels: ["c1", "c2"], extra: """
            [operations]
            metrics_address = "127.0.0.1:0"
            log_format = "json"
            log_level = "notice"
            """)
        let spec: [String: Any] = ["text": "one two three four", "token_interval": 0.1,
                                   "usage": ["prompt_tokens": 120, "completion_tokens": 4, "cached_tokens": 100]]
        let (bridge, input) = try fixture.startBridgeWithInput()
        defer { bridge.stop() }
        try await bridge.waitForOutput("{\"op\":\"ready\"}")
        let url = "http://127.0.0.1:\(try await operationsPort(of: bridge))"

        let idle = try await Self.scrape(url + "/metrics")
        // The counter may be exported at 0 before anything happened (its handle is made once, up front), never above.
        #expect((idle.value("pb_messages_in_total", ["platform": "jsonl"]) ?? 0) == 0, "nothing happened yet")

        try input.send(["channel": "c1", "user": "u1", "text": "hi " + (try Self.marker(spec))])
        try input.send(["channel": "c2", "user": "u2", "text": "hello " + (try Self.marker(spec))])
        try await Self.waitUntil("both replies finished", bridge: bridge) {
            try await Self.scrape(url + "/metrics").value("pb_replies_finished_total", ["platform": "jsonl"]) == 2
        }
        let after = try await Self.scrape(url + "/metrics")
        #expect(after.families["pb_messages_in"] == "counter", "families: \(after.families)")
        #expect(after.families["pb_model_first_token_seconds"] == "histogram")
        #expect(after.families["pb_model_reply_seconds"] == "histogram")
        #expect(after.value("pb_messages_in_total", ["platform": "jsonl"]) == 2)
        #expect(after.value("pb_replies_started_total", ["platform": "jsonl"]) == 2)
        #expect(after.value("pb_messages_out_total", ["platform": "jsonl"]) == 2)
        #expect((after.value("pb_edits_total", ["platform": "jsonl"]) ?? 0) >= 1)
        #expect(after.value("pb_tokens_total", ["platform": "jsonl", "kind": "prompt"]) == 240)
        #expect(after.value("pb_tokens_total", ["platform": "jsonl", "kind": "completion"]) == 8)
        #expect(after.value("pb_tokens_total", ["platform": "jsonl", "kind": "cached"]) == 200)
        #expect((after.value("pb_cost_usd_total", ["platform": "jsonl"]) ?? 0) > 0)
        #expect(after.value("pb_model_first_token_seconds_count", [:]) == 2)
        #expect(after.value("pb_model_reply_seconds_count", [:]) == 2)

        // One more reply moves the counters again.
        try input.send(["channel": "c1", "user": "u1", "text": "again " + (try Self.marker(spec))])
        try await Self.waitUntil("the third reply", bridge: bridge) {
            try await Self.scrape(url + "/metrics").value("pb_replies_finished_total", ["platform": "jsonl"]) == 3
        }
        let third = try await Self.scrape(url + "/metrics")
        #expect(third.value("pb_messages_in_total", ["platform": "jsonl"]) == 3)
        #expect(third.value("pb_tokens_total", ["platform": "jsonl", "kind": "prompt"]) == 360)
        #expect(third.value("pb_model_reply_seconds_count", [:]) == 3)

        let health = try await runPython(["-c", """
            import urllib.request, urllib.error
            for path in ("/healthz", "/readyz", "/nope"):
                try: print(urllib.request.urlopen("\(url)" + path, timeout=10).status)
                except urllib.error.HTTPError as e: print(e.code)
            """])
        #expect(health.split(separator: "\n") == ["200", "200", "404"])

        kill(bridge.pid, SIGTERM)
        #expect(try await bridge.waitForExit(timeout: .seconds(60)) == 0, "output:\n\(bridge.output)")
    }

    @Test func traceLogsNeverContainTheAPIKey() async throws {
        let fixture = try await OperationsFixture()
        let discordToken = "discord-token-never-logged-0123456789"
        try fixture.writeConfig(channels: ["c1"], extra: """
            [operations]
            log_format = "json"

            [platforms.discord]
            enabled = false
            token = "${PB_DISCORD_TOKEN}"
            """)
        let bridge = try fixture.startBridge(input: [["channel": "c1", "user": "u1", "text": "say something"]],
                                             arguments: ["--log-level", "trace"],
                                             environment: ["PB_DISCORD_TOKEN": discordToken])
        defer { bridge.stop() }
        try await Self.waitUntil("the echo reply", bridge: bridge) {
            guard BridgeTranscript(bridge.output).messages(in: "c1").first?.contains("You said") == true else { return false }
            return (try await fixture.modelRequests().first?["finished"] as? Bool) == true
        }
        kill(bridge.pid, SIGTERM)
        #expect(try await bridge.waitForExit(timeout: .seconds(60)) == 0)
        let output = try await finalOutput(of: bridge)
        let requests = try await fixture.modelRequests()
        let headers = try #require(requests.first?["headers"] as? [String: Any])
        #expect((headers["authorization"] as? String)?.contains(OperationsFixture.apiKey) == true,
                "the key did reach the model, so it was in the process")
        #expect(output.contains("\"level\":\"trace\""), "trace logging must be on for this test to mean anything")
        #expect(!output.contains(OperationsFixture.apiKey), "the API key must not be logged")
        #expect(!output.contains(String(OperationsFixture.apiKey.prefix(20))), "not even a prefix of the key")
        #expect(!output.contains(discordToken), "nor a platform token from the config")
    }

    @Test func aUserOverBudgetIsRefusedBeforeAnyModelRequestAndNoticedOnceAcrossARestart() async throws {
        let fixture = try await OperationsFixture()
        try fixture.writeConfig(channels: ["c1", "c2"], extra: """
            [operations]
            log_format = "json"

            [budgets]
            per_user_tokens_per_day = 100
            per_channel_tokens_per_day = 100000
            notice_interval_seconds = 3600
            """)
        let usage: [String: Any] = ["text": "fine", "usage": ["prompt_tokens": 90, "completion_tokens": 20]]
        // First run: u1 spends 110 tokens, over the 100-token day budget.
        let first = try fixture.startBridge(input: [["channel": "c1", "user": "u1", "text": "hi " + (try Self.marker(usage))]])
        defer { first.stop() }
        try await Self.waitUntil("the first reply", bridge: first) {
            guard BridgeTranscript(first.output).messages(in: "c1") == ["fine"] else { return false }
            return (try await fixture.modelRequests().first?["finished"] as? Bool) == true
        }
        // The recorded event the second run depends on: the reply's usage is in the store.
        try await eventually("the first reply's usage stored") { try await fixture.query("SELECT count(*) FROM usage") == ["1"] }
        kill(first.pid, SIGTERM)
        #expect(try await first.waitForExit(timeout: .seconds(60)) == 0)

        // Second run (the budget is in the store): u1 is refused without a model request, noticed once.
        let second = try fixture.startBridge(input: [
            ["channel": "c1", "user": "u1", "name": "Una", "text": "again"],
            ["channel": "c1", "user": "u1", "name": "Una", "text": "and again"],
            ["channel": "c1", "user": "u1", "name": "Una", "text": "please"],
            ["channel": "c1", "user": "nobody", "text": "!pb budget"],
            ["channel": "c1", "user": "mod", "text": "!pb budget"],
            ["channel": "c2", "user": "u2", "text": "I have budget " + (try Self.marker(["text": "ok u2"]))],
        ])
        defer { second.stop() }
        try await Self.waitUntil("the budget report and u2's reply", bridge: second) {
            let transcript = BridgeTranscript(second.output)
            return transcript.messages(in: "c1").contains { $0.hasPrefix("Budget, last 24 h") }
                && transcript.messages(in: "c2") == ["ok u2"]
        }
        kill(second.pid, SIGTERM)
        #expect(try await second.waitForExit(timeout: .seconds(60)) == 0)

        let requests = try await fixture.modelRequests()
        #expect(requests.count == 2, "one request for u1's first message, one for u2; none for u1 over budget")
        let c1 = BridgeTranscript(try await finalOutput(of: second)).messages(in: "c1")
        let notices = c1.filter { $0.contains("daily token budget") }
        #expect(notices.count == 1, "one notice for three refused messages: \(c1)")
        #expect(notices.first?.hasPrefix("Una") == true)
        #expect(c1.contains { $0.contains("only moderators") }, "a non-moderator cannot see the budget: \(c1)")
        let report = try #require(c1.first { $0.hasPrefix("Budget, last 24 h") })
        #expect(report.contains("this channel: 110 tokens in 1 requests"), "report: \(report)")
        #expect(report.contains("of 100000, 99890 left"), "report: \(report)")
        #expect(report.contains("server s1"), "report: \(report)")
        #expect(try await fixture.integrityCheck() == "ok")
    }

    /// A parsed `/metrics` scrape.
    struct Scrape {
        var families: [String: String]
        var samples: [(name: String, labels: [String: String], value: Double)]

        /// The value of the sample with exactly these labels.
        func value(_ name: String, _ labels: [String: String]) -> Double? {
            samples.first { $0.name == name && $0.labels == labels }?.value
        }
    }

    static func scrape(_ url: String) async throws -> Scrape {
        let script = RepoPaths.servers.appendingPathComponent("prometheus_parse.py").path
        let output = try await runPython([script, url], tools: true)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any])
        #expect(object["status"] as? Int == 200)
        #expect((object["content_type"] as? String)?.hasPrefix("text/plain") == true)
        let families = object["families"] as? [String: String] ?? [:]
        let samples = (object["samples"] as? [[String: Any]] ?? []).map { sample in
            (name: sample["name"] as? String ?? "", labels: sample["labels"] as? [String: String] ?? [:],
             value: (sample["value"] as? NSNumber)?.doubleValue ?? .nan)
        }
        return Scrape(families: families, samples: samples)
    }
}

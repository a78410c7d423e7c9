import Foundation
import HTTPTransport
import PBTestSupport
import Testing

/// `persona-bridge run` with `[platforms.discord]`, as a user starts it: the built binary, the fake Discord
/// and the fake model server.
@Suite(.serialized) struct DiscordRunCommandTests {
    static func writeBot(apiBase: String, modelPort: Int) throws -> URL {
        try TestBot.write(modelPort: modelPort, extra: """
            [platforms.discord]
            token = "${PB_DISCORD_TOKEN}"
            api_base_url = "\(apiBase)"

            [[channels]]
            platform = "discord"
            channel = "\(World.general)"
            personas = ["aria"]
            """, prefix: "pb-discord-run")
    }

    @Test func runRepliesStreamsAndTakesSlashCommandsThroughOneRouter() async throws {
        let fake = try await FakeDiscord.start()
        defer { fake.stop() }
        let (model, modelPort) = try await startPythonServer("model_server.py")
        defer { model.stop() }
        let dir = try Self.writeBot(apiBase: fake.apiBase, modelPort: modelPort)
        defer { try? FileManager.default.removeItem(at: dir) }
        let config = dir.appendingPathComponent("bot.toml").path
        let environment = ["PATH": "/usr/bin:/bin", "HOME": dir.path, "PB_TEST_KEY": "sk-test-secret",
                           "PB_DISCORD_TOKEN": "fake-bot-token"]

        let check = try TestServer(executable: RepoPaths.builtExecutable("persona-bridge"),
                                   arguments: ["check", "--config", config], environment: environment)
        #expect(try await check.waitForExit(timeout: .seconds(60)) == 0, "\(check.output)")

        let bridge = try TestServer(executable: RepoPaths.builtExecutable("persona-bridge"),
                                    arguments: ["run", "--config", config, "--log-level", "debug"], environment: environment)
        defer { bridge.stop() }
        try await eventually("commands registered") { try await fake.counter("command_puts") >= 1 }

        try await fake.inject("hello there")
        try await eventually("Aria's streamed reply") {
            try await fake.botMessages(in: World.general).contains { $0["content"].string?.hasPrefix("You said:") == true }
        }
        let accepted = try await fake.post("inject/interaction", ["name": "persona", "options": DiscordFeatureTests.personaSet("bolt"),
                                                                   "user_id": World.moderator])
        let answer = try await DiscordFeatureTests.answer(fake, accepted["id"].string ?? "")
        #expect(answer.content.contains("Bolt now answers here"), "\(answer.content)")
        try await fake.inject("who is there?")
        try await eventually("a reply to the second message") {
            try await fake.botMessages(in: World.general).filter { $0["content"].string?.hasPrefix("You said:") == true }.count >= 2
        }
        // The model was asked as Bolt: the persona change reached the router that answers messages.
        let response = try await fake.http.execute(HTTPRequest(url: "http://127.0.0.1:\(modelPort)/_control/requests"))
        let requests = JSON(try JSONSerialization.jsonObject(with: Data(try await response.body.collect(upTo: 16 << 20))))
        let system = requests.array.last?["body"]["messages"][0]["content"].string ?? ""
        #expect(system.contains("Bolt"), "the last request's system prompt: \(system)")

        kill(bridge.pid, SIGTERM)
        #expect(try await bridge.waitForExit(timeout: .seconds(60)) == 0, "\(bridge.output)")
        #expect(!bridge.output.contains("fake-bot-token"), "the token must never be logged")
        #expect(!bridge.output.contains("sk-test-secret"))
        for request in try await fake.get("requests").array where ["POST", "PATCH"].contains(request["method"].string ?? "") {
            let route = request["route"].string ?? ""
            guard route.hasSuffix("/messages") || route.contains("/messages/") || route.contains("/webhooks/") else { continue }
            #expect(request["body"]["allowed_mentions"]["parse"].array.isEmpty && !request["body"]["allowed_mentions"]["parse"].isNull,
                    "\(route) lacks allowed_mentions")
        }
    }

    /// SIGKILL while a reply streams: the catch-up mark has not passed the trigger (it moves only once the Router
    /// has handled a message), so the restart's catch-up delivers the trigger again, and its claim, taken before
    /// the crash, keeps it from being answered twice.
    @Test func aBridgeKilledMidReplyDoesNotLoseOrRepeatTheTrigger() async throws {
        let crash = try await CrashScene.start()
        defer { crash.stop() }
        let (store, markQuery) = (crash.store, crash.markQuery)
        func startBridge() throws -> TestServer { try crash.startBridge() }
        func replies(to id: String) async throws -> [JSON] { try await crash.replies(to: id) }

        let bridge = try startBridge()
        defer { bridge.stop() }
        // A reply that streams for a long time: the kill lands after its first message is on Discord.
        let (_, slow) = try await crash.handleOneThenStartASlowReply(bridge)
        let partial = try #require(try await replies(to: slow).first?["id"].string)
        let partialQuery = "SELECT text FROM message WHERE platform_message_id = '\(partial)'"
        try await eventually("the partial reply in history", detail: { bridge.output }) {
            try await sqliteScalar(store, partialQuery).hasPrefix("one")
        }
        kill(bridge.pid, SIGKILL)
        #expect(try await bridge.waitForExit(timeout: .seconds(30)) == 128 + SIGKILL)
        let mark = try #require(UInt64(try await sqliteScalar(store, markQuery)))
        #expect(mark < UInt64(slow) ?? 0, "the mark must not pass a message whose handling the crash cut short")
        #expect(try await sqliteScalar(store, "SELECT count(*) FROM answered WHERE platform_message_id = '\(slow)'") == "1")
        let kept = try await sqliteScalar(store, partialQuery)
        #expect(kept.hasPrefix("one") && kept.hasSuffix("(reply interrupted)"), "history holds the partial text, marked: \(kept)")

        let restarted = try startBridge()
        defer { restarted.stop() }
        // The recorded event: the catch-up delivered the trigger again and the Router found it claimed.
        try await restarted.waitForOutput("already answered", timeout: .seconds(90))
        #expect(restarted.output.contains(slow), "the trigger the catch-up delivered again: \(restarted.output.suffix(2_000))")
        try await eventually("the mark passes the trigger once it is handled") {
            (UInt64(try await sqliteScalar(store, markQuery)) ?? 0) >= (UInt64(slow) ?? .max)
        }
        #expect(try await replies(to: slow).count == 1, "the trigger is not answered a second time")
    }

    /// SIGKILL at the point where a claim was just released: a reply that could not send its first message (the bot
    /// lost SEND_MESSAGES, so Discord answers 403) gives its claim back, and the process dies right there. A reply
    /// still streaming from before keeps the catch-up mark behind both triggers, so the restart's catch-up delivers
    /// them again: the released trigger is answered exactly once, the other one (its reply is on Discord) not again.
    @Test func aClaimReleasedRightBeforeSIGKILLIsAnsweredExactlyOnceByTheRestart() async throws {
        let crash = try await CrashScene.start()
        defer { crash.stop() }
        let (fake, store, markQuery) = (crash.fake, crash.store, crash.markQuery)
        func answeredRows(_ id: String) async throws -> String {
            try await sqliteScalar(store, "SELECT count(*) FROM answered WHERE platform_message_id = '\(id)'")
        }
        func startBridge() throws -> TestServer { try crash.startBridge() }
        func replies(to id: String) async throws -> [JSON] { try await crash.replies(to: id) }

        let bridge = try startBridge()
        defer { bridge.stop() }
        // A first message handled (so the restart has a catch-up mark), then a reply that streams for half a minute:
        // while it runs the mark cannot pass its trigger.
        let (first, slow) = try await crash.handleOneThenStartASlowReply(bridge)
        // Only stored (no GUILD_ROLE_UPDATE), so the bridge tries to send and Discord refuses.
        try await fake.post("permissions", ["send_messages": false, "dispatch": false])
        let failing = try await fake.inject("this reply cannot be sent")
        // The exact point: the claim is given back; kill before anything else happens.
        try await bridge.waitForOutput("nothing was sent; claim released", timeout: .seconds(90))
        kill(bridge.pid, SIGKILL)
        #expect(try await bridge.waitForExit(timeout: .seconds(30)) == 128 + SIGKILL)
        #expect(bridge.output.contains(failing), "the released claim is the failing trigger's: \(bridge.output.suffix(2_000))")
        #expect(try await replies(to: failing).isEmpty)
        #expect(try await answeredRows(failing) == "0", "the claim was released")
        #expect(try await answeredRows(slow) == "1")
        let mark = UInt64(try await sqliteScalar(store, markQuery)) ?? 0
        #expect(mark >= UInt64(first) ?? .max && mark < UInt64(slow) ?? 0, "the mark stays behind the reply that was still streaming")

        try await fake.post("permissions", ["send_messages": true, "dispatch": false])
        let restarted = try startBridge()
        defer { restarted.stop() }
        try await eventually("the restart answers the released trigger", timeout: .seconds(90), detail: { restarted.output }) {
            try await !replies(to: failing).isEmpty
        }
        // The recorded event: the restart has handled the trigger (the mark passes it); then one short settle.
        try await eventually("the mark passes the released trigger", detail: { restarted.output }) {
            (UInt64(try await sqliteScalar(store, markQuery)) ?? 0) >= (UInt64(failing) ?? .max)
        }
        try await settle()
        #expect(try await replies(to: failing).count == 1, "answered exactly once")
        #expect(try await replies(to: slow).count == 1, "the trigger whose reply was on Discord is not answered again")
        #expect(try await replies(to: first).count == 1)
        #expect(try await answeredRows(failing) == "1")
    }

    @Test func checkAndRunRefuseAMissingTokenNamingIt() async throws {
        let dir = try Self.writeBot(apiBase: "http://127.0.0.1:9/api/v10", modelPort: 9)
        defer { try? FileManager.default.removeItem(at: dir) }
        let config = dir.appendingPathComponent("bot.toml").path
        let environment = ["PATH": "/usr/bin:/bin", "HOME": dir.path, "PB_TEST_KEY": "sk-test-secret"]
        for command in ["check", "run"] {
            let process = try TestServer(executable: RepoPaths.builtExecutable("persona-bridge"),
                                         arguments: [command, "--config", config], environment: environment)
            #expect(try await process.waitForExit(timeout: .seconds(60)) == 1, "\(command): \(process.output)")
            #expect(process.output.contains("PB_DISCORD_TOKEN"), "\(command) names the missing variable: \(process.output)")
        }
    }

    @Test func runExitsPromptlyOnSIGTERMWhenIdle() async throws {
        // Discord's own heartbeat interval, so nothing waits for a heartbeat tick to notice the shutdown.
        let fake = try await FakeDiscord.start(config: ["heartbeat_interval_ms": 41_250])
        defer { fake.stop() }
        let (model, modelPort) = try await startPythonServer("model_server.py")
        defer { model.stop() }
        let dir = try Self.writeBot(apiBase: fake.apiBase, modelPort: modelPort)
        defer { try? FileManager.default.removeItem(at: dir) }
        let environment = ["PATH": "/usr/bin:/bin", "HOME": dir.path, "PB_TEST_KEY": "sk-test-secret",
                           "PB_DISCORD_TOKEN": "fake-bot-token"]
        let bridge = try TestServer(executable: RepoPaths.builtExecutable("persona-bridge"),
                                    arguments: ["run", "--config", dir.appendingPathComponent("bot.toml").path, "--log-level", "debug"],
                                    environment: environment)
        defer { bridge.stop() }
        try await eventually("commands registered") { try await fake.counter("command_puts") >= 1 }
        // One reply first, so the idle state is the usual one after some work.
        try await fake.inject("hello there")
        // The recorded event: the reply's final text is on Discord (the reply is done); then one short settle.
        try await eventually("Aria's whole reply") {
            try await fake.botMessages(in: World.general).contains {
                $0["content"].string.map { $0.hasPrefix("You said:") && $0.hasSuffix("hello there") } == true
            }
        }
        try await settle()
        let signalled = ContinuousClock.now
        kill(bridge.pid, SIGTERM)
        let status = try await bridge.waitForExit(timeout: .seconds(30))
        let took = ContinuousClock.now - signalled
        #expect(status == 0, "\(bridge.output)")
        // End to end through a real process, so real time with a generous margin: the faults this catches wait for
        // a heartbeat tick (41 s here) or the shutdown grace period (10 s); an idle exit takes well under a second
        // on an idle machine, and a loaded 2-core machine must not fail it.
        #expect(took <= .seconds(5), "idle shutdown took \(took)")
    }

    @Test func runWithAnInvalidTokenExits78NamingTheTokenAfterAtMostOneIdentify() async throws {
        let fake = try await FakeDiscord.start()
        defer { fake.stop() }
        let dir = try Self.writeBot(apiBase: fake.apiBase, modelPort: 9)
        defer { try? FileManager.default.removeItem(at: dir) }
        let environment = ["PATH": "/usr/bin:/bin", "HOME": dir.path, "PB_TEST_KEY": "sk-test-secret",
                           "PB_DISCORD_TOKEN": "not-the-right-token"]
        let bridge = try TestServer(executable: RepoPaths.builtExecutable("persona-bridge"),
                                    arguments: ["run", "--config", dir.appendingPathComponent("bot.toml").path],
                                    environment: environment)
        defer { bridge.stop() }
        let status = try await bridge.waitForExit(timeout: .seconds(60))
        #expect(status == 78, "\(bridge.output)")
        #expect(bridge.output.contains("token"), "the message names the token: \(bridge.output)")
        #expect(!bridge.output.contains("not-the-right-token"), "the token itself is never printed")
        #expect(try await fake.counter("identifies") <= 1)
    }

    @Test func runWithRepliesInFlightExitsAfterTheGracePeriodEveryReplyMarked() async throws {
        let fake = try await FakeDiscord.start()
        defer { fake.stop() }
        let (model, modelPort) = try await startPythonServer("model_server.py")
        defer { model.stop() }
        // Replies that would stream for 20 s; the grace period is 2 s.
        let spec: [String: Any] = ["tokens": (0..<400).map { "word\($0) " }, "token_interval": 0.05]
        let data = try JSONSerialization.data(withJSONObject: ["replies": Array(repeating: spec, count: 3)])
        let scripted = try await fake.http.execute(HTTPRequest(method: .post, url: "http://127.0.0.1:\(modelPort)/_control/script",
                                                               headers: ["Content-Type": "application/json"], body: Array(data)))
        _ = try await scripted.body.collect(upTo: 1 << 20)
        let dir = try TestBot.write(modelPort: modelPort, extra: """
            [operations]
            shutdown_grace_seconds = 2

            [platforms.discord]
            token = "${PB_DISCORD_TOKEN}"
            api_base_url = "\(fake.apiBase)"
            \(World.channels.prefix(3).map { "\n[[channels]]\nplatform = \"discord\"\nchannel = \"\($0)\"\npersonas = [\"aria\"]\n" }.joined())
            """, prefix: "pb-discord-grace")
        defer { try? FileManager.default.removeItem(at: dir) }
        let environment = ["PATH": "/usr/bin:/bin", "HOME": dir.path, "PB_TEST_KEY": "sk-test-secret",
                           "PB_DISCORD_TOKEN": "fake-bot-token"]
        let bridge = try TestServer(executable: RepoPaths.builtExecutable("persona-bridge"),
                                    arguments: ["run", "--config", dir.appendingPathComponent("bot.toml").path],
                                    environment: environment)
        defer { bridge.stop() }
        try await eventually("commands registered") { try await fake.counter("command_puts") >= 1 }
        for channel in World.channels.prefix(3) { try await fake.inject("tell me a long story", channel: channel) }
        try await eventually("three replies streaming") {
            var started = 0
            for channel in World.channels.prefix(3) { started += try await fake.botMessages(in: channel).isEmpty ? 0 : 1 }
            return started == 3
        }
        let signalled = ContinuousClock.now
        kill(bridge.pid, SIGTERM)
        let status = try await bridge.waitForExit(timeout: .seconds(60))
        let took = ContinuousClock.now - signalled
        #expect(status == 0, "\(bridge.output)")
        // End to end through a real process, so real time with a margin: the fault this catches is waiting for the
        // replies (20 s of streaming); the grace period is 2 s, the margin another 4 s for a loaded machine.
        #expect(took <= .seconds(6), "shutdown with replies in flight took \(took) (grace 2 s)")
        for channel in World.channels.prefix(3) {
            let content = try await fake.botMessages(in: channel).first?["content"].string ?? ""
            #expect(content.hasSuffix("(reply interrupted: the bridge is restarting)"), "\(channel): \(content.suffix(80))")
        }
    }
}

/// The SIGKILL tests' scene: the fake Discord, the fake model and a bot writing to SQLite on disk.
private struct CrashScene {
    let fake: FakeDiscord
    let model: TestServer
    let dir: URL
    let config: String
    let store: String
    let environment: [String: String]
    /// The catch-up mark of the channel the tests write in.
    let markQuery = "SELECT value FROM kv_state WHERE key = 'discord.last_seen.\(World.general)'"

    static func start() async throws -> CrashScene {
        let fake = try await FakeDiscord.start()
        let model: TestServer
        let modelPort: Int
        do { (model, modelPort) = try await startPythonServer("model_server.py") } catch { fake.stop(); throw error }
        let dir: URL
        do { dir = try DiscordRunCommandTests.writeBot(apiBase: fake.apiBase, modelPort: modelPort) } catch {
            model.stop(); fake.stop(); throw error
        }
        return CrashScene(fake: fake, model: model, dir: dir, config: dir.appendingPathComponent("bot.toml").path,
                          store: dir.appendingPathComponent("state/bridge.sqlite").path,
                          environment: ["PATH": "/usr/bin:/bin", "HOME": dir.path, "PB_TEST_KEY": "sk-test-secret",
                                        "PB_DISCORD_TOKEN": "fake-bot-token"])
    }

    func stop() {
        model.stop()
        fake.stop()
        try? FileManager.default.removeItem(at: dir)
    }

    func startBridge() throws -> TestServer {
        try TestServer(executable: RepoPaths.builtExecutable("persona-bridge"),
                       arguments: ["run", "--config", config, "--log-level", "debug"], environment: environment)
    }

    /// The bot's replies to message `id`.
    func replies(to id: String) async throws -> [JSON] {
        try await fake.botMessages(in: World.general).filter { $0["message_reference"]["message_id"].string == id }
    }

    /// One message handled (the mark passes it), then a trigger whose reply streams for about half a minute, once
    /// that reply's first message is on Discord; returns both message ids.
    func handleOneThenStartASlowReply(_ bridge: TestServer) async throws -> (first: String, slow: String) {
        try await eventually("commands registered") { try await fake.counter("command_puts") >= 1 }
        let first = try await fake.inject("hello there")
        try await eventually("the mark passes the handled message", detail: { bridge.output }) {
            guard let mark = UInt64(try await sqliteScalar(store, markQuery)), let id = UInt64(first) else { return false }
            return mark >= id
        }
        let spec = String(decoding: try JSONSerialization.data(withJSONObject: ["text": "one two three four five six seven",
                                                                                "token_interval": 5]), as: UTF8.self)
        let slow = try await fake.inject("a slow one <<fake \(spec)>>")
        try await eventually("the slow reply's first message", detail: { bridge.output }) { try await !replies(to: slow).isEmpty }
        return (first, slow)
    }
}

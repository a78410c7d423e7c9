import Foundation
import PBTestSupport
import Testing

/// `persona-bridge run` with `[platforms.irc]`, as a user starts it: the built binary, real ngIRCd and InspIRCd, the fake model.
@Suite(.serialized) struct IRCRunCommandTests {
    /// The `persona-bridge` binary built next to the test bundle (`swift build --build-tests` builds it).
    static var binary: String { RepoPaths.builtExecutable("persona-bridge") }

    /// A temp bot directory (`TestBot`) with `extra` appended to `bot.toml`.
    static func makeBot(modelPort: Int, extra: String) throws -> URL {
        try TestBot.write(modelPort: modelPort, extra: extra, prefix: "pb-irc-run")
    }

    static func ircSection(port: Int, floodRate: String = "20", extra: String = "") -> String {
        """
        [platforms.irc]
        network = "testnet"
        host = "127.0.0.1"
        port = \(port)
        tls = false
        nick = "aria"
        alt_nicks = ["aria_"]
        realname = "Aria test bot"
        flood_burst = 10
        flood_rate = \(floodRate)
        \(extra)

        [[channels]]
        platform = "irc"
        server = "testnet"
        channel = "#test"
        personas = ["aria"]
        """
    }

    static func launch(_ arguments: [String], in dir: URL) throws -> TestServer {
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            throw TestServerError("persona-bridge is not built at \(binary); run swift build --build-tests first")
        }
        return try TestServer(executable: binary, arguments: arguments,
                              environment: ["PATH": "/usr/bin:/bin", "HOME": dir.path, "PB_TEST_KEY": "sk-test-secret"])
    }

    @Test(arguments: IRCServerKind.allCases) func runRepliesInAnIRCChannel(_ kind: IRCServerKind) async throws {
        let irc = try await IRCTestServer.start(kind)
        defer { irc.stop() }
        let (model, modelPort) = try await startPythonServer("model_server.py")
        defer { model.stop() }
        let dir = try Self.makeBot(modelPort: modelPort, extra: Self.ircSection(port: irc.port))
        defer { try? FileManager.default.removeItem(at: dir) }
        let config = dir.appendingPathComponent("bot.toml").path

        let check = try Self.launch(["check", "--config", config], in: dir)
        let checkCode = try await check.waitForExit(timeout: .seconds(60))
        #expect(checkCode == 0, "check must accept the IRC section: \(check.output)")

        let alice = try await IRCHuman.connect(port: irc.port, nick: "alice")
        try await alice.join("#test")
        let bridge = try Self.launch(["run", "--config", config], in: dir)
        defer { bridge.stop() }
        do {
            _ = try await alice.waitFor("aria joins #test", timeout: .seconds(60)) { $0.hasPrefix(":aria!") && $0.contains(" JOIN ") }
            try await alice.send("PRIVMSG #test :aria: hello from irc")
            let reply = try await alice.waitFor("aria's reply", timeout: .seconds(60)) {
                $0.hasPrefix(":aria!") && $0.contains(" PRIVMSG #test :") && $0.contains("You said:")
            }
            #expect(reply.contains("hello from irc"), "\(reply)")
            // SIGTERM: graceful shutdown says QUIT on IRC and exits cleanly.
            kill(bridge.pid, SIGTERM)
            _ = try await alice.waitFor("aria's QUIT on SIGTERM", timeout: .seconds(60)) { $0.hasPrefix(":aria!") && $0.contains(" QUIT ") }
            #expect(try await bridge.waitForExit(timeout: .seconds(60)) == 0, "\(bridge.output)")
        } catch {
            Issue.record("persona-bridge output:\n\(bridge.output)")
            throw error
        }
        #expect(!bridge.output.contains("sk-test-secret"))
        await alice.close()
    }

    @Test func checkAcceptsTheIRCExampleConfigDisabledAndEnabled() async throws {
        let example = RepoPaths.bots.appendingPathComponent("irc.toml")
        let env = ["PATH": "/usr/bin:/bin", "OPENROUTER_API_KEY": "test-key", "IRC_SASL_PASSWORD": "sasl-secret"]
        guard FileManager.default.isExecutableFile(atPath: Self.binary) else {
            throw TestServerError("persona-bridge is not built at \(Self.binary); run swift build --build-tests first")
        }
        let disabled = try TestServer(executable: Self.binary, arguments: ["check", "--config", example.path], environment: env)
        #expect(try await disabled.waitForExit(timeout: .seconds(60)) == 0, "\(disabled.output)")
        #expect(disabled.output.contains("2 channel bindings"), "\(disabled.output)")

        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pb-irc-example-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let enabledText = try String(contentsOf: example, encoding: .utf8)
            .replacingOccurrences(of: "enabled = false", with: "enabled = true")
            .replacingOccurrences(of: "personas_dir = \"personas\"",
                                  with: "personas_dir = \"\(RepoPaths.bots.appendingPathComponent("personas").path)\"")
        let enabledPath = dir.appendingPathComponent("irc.toml")
        try enabledText.write(to: enabledPath, atomically: true, encoding: .utf8)
        let enabled = try TestServer(executable: Self.binary, arguments: ["check", "--config", enabledPath.path], environment: env)
        #expect(try await enabled.waitForExit(timeout: .seconds(60)) == 0, "\(enabled.output)")
        #expect(enabled.output.contains("platforms: irc"), "\(enabled.output)")
        #expect(!enabled.output.contains("sasl-secret"))
    }

    @Test func runRejectsBadIRCSettingsNamingTheKey() async throws {
        let dir = try Self.makeBot(modelPort: 9, extra: Self.ircSection(port: 6667, floodRate: "0"))
        defer { try? FileManager.default.removeItem(at: dir) }
        let run = try Self.launch(["run", "--config", dir.appendingPathComponent("bot.toml").path], in: dir)
        let code = try await run.waitForExit(timeout: .seconds(60))
        #expect(code == 1, "\(run.output)")
        #expect(run.output.contains("[platforms.irc]") && run.output.contains("flood_rate"), "\(run.output)")
        // `check` finds the same problem without connecting.
        let check = try Self.launch(["check", "--config", dir.appendingPathComponent("bot.toml").path], in: dir)
        #expect(try await check.waitForExit(timeout: .seconds(60)) == 1, "\(check.output)")
        #expect(check.output.contains("[platforms.irc]") && check.output.contains("flood_rate"), "\(check.output)")

        let half = try Self.makeBot(modelPort: 9, extra: Self.ircSection(port: 6667, extra: "sasl_account = \"aria\""))
        defer { try? FileManager.default.removeItem(at: half) }
        let saslRun = try Self.launch(["run", "--config", half.appendingPathComponent("bot.toml").path], in: half)
        #expect(try await saslRun.waitForExit(timeout: .seconds(60)) == 1)
        #expect(saslRun.output.contains("sasl_password"), "\(saslRun.output)")
    }
}

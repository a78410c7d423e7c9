import Foundation
import PBTestSupport
import Testing

/// Runs the built `persona-bridge` binary as a user would.
struct CLI {
    /// The binary next to the test bundle.
    static var binary: String { RepoPaths.builtExecutable("persona-bridge") }

    /// Runs the CLI with `arguments` and environment `environment`; returns exit code and combined output.
    static func run(_ arguments: [String], environment: [String: String] = [:]) async throws -> (Int32, String) {
        var env = ["PATH": "/usr/bin:/bin", "HOME": NSTemporaryDirectory()]
        env.merge(environment) { $1 }
        let process = try TestServer(executable: binary, arguments: arguments, environment: env)
        return try await process.waitForCompleteOutput(timeout: .seconds(60))
    }
}

@Suite struct CLITests {
    let demo = RepoPaths.bots.appendingPathComponent("demo.toml").path

    @Test func checkAcceptsTheShippedDemoConfig() async throws {
        let (code, output) = try await CLI.run(["check", "--config", demo], environment: ["OPENROUTER_API_KEY": "test-key"])
        #expect(code == 0, "output: \(output)")
        #expect(!output.contains("test-key"), "the key must never be echoed")
        #expect(output.contains("OK"))
    }

    @Test func checkReportsEveryProblemWithFileAndLine() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pb-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let config = dir.appendingPathComponent("bad.toml")
        try """
            [model]
            provider = "openrouter"
            temprature = 0.5

            [[channels]]
            platform = "console"
            channel = "demo"
            personas = ["nobody"]
            """.write(to: config, atomically: true, encoding: .utf8)
        let (code, output) = try await CLI.run(["check", "--config", config.path])
        #expect(code == 1, "output: \(output)")
        #expect(output.contains("bad.toml:3"), "unknown key on line 3 should be reported: \(output)")
        #expect(output.contains("temperature"), "a did-you-mean hint is expected: \(output)")
        #expect(output.contains("nobody"), "the unknown persona should be named: \(output)")
    }

    @Test func chatWithoutAnAPIKeyStopsAtOnceNamingTheVariable() async throws {
        let (code, output) = try await CLI.run(["chat", "--config", demo], environment: [:])
        #expect(code == 1, "output: \(output)")
        #expect(output.contains("OPENROUTER_API_KEY"), "output: \(output)")
    }

    @Test func checkOnlineStreamsOneReplyFromTheConfiguredProvider() async throws {
        let (server, port) = try await startPythonServer("model_server.py")
        defer { server.stop() }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pb-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("personas"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try """
            [model]
            provider = "openrouter"
            base_url = "http://127.0.0.1:\(port)/api/v1"
            api_key_env = "PB_TEST_KEY"

            [platforms.console]
            enabled = true
            """.write(to: dir.appendingPathComponent("bot.toml"), atomically: true, encoding: .utf8)
        let (code, output) = try await CLI.run(
            ["check", "--online", "--config", dir.appendingPathComponent("bot.toml").path],
            environment: ["PB_TEST_KEY": "sk-test-secret-value"])
        #expect(code == 0, "output: \(output)")
        #expect(output.contains("You said: Say hello"), "the streamed text is printed: \(output)")
        #expect(output.contains("[usage:"), "usage is printed: \(output)")
        #expect(!output.contains("sk-test-secret-value"), "the key is never echoed")
    }

    /// The store remembers answered message ids; console ids that restarted at `c1` in every session made
    /// the second session's messages look answered already, so it answered nothing.
    @Test func aSecondChatSessionOnTheSameStoreIsAnsweredToo() async throws {
        let fixture = try await OperationsFixture()
        let config = fixture.directory.appendingPathComponent("chat.toml").path
        try """
            personas_dir = "personas"

            [model]
            provider = "openrouter"
            base_url = "http://127.0.0.1:\(fixture.modelPort)/api/v1"
            api_key_env = "PB_TEST_KEY"
            max_attempts = 1

            [storage]
            path = "state/bridge.sqlite"

            [defaults.trigger]
            mode = "always"
            cooldown_seconds = 0

            [platforms.console]
            enabled = true
            channel = "demo"

            [[channels]]
            platform = "console"
            channel = "demo"
            personas = ["ada"]
            """.write(toFile: config, atomically: true, encoding: .utf8)
        for session in ["first", "second"] {
            let input = fixture.directory.appendingPathComponent("\(session).txt").path
            try "hello from the \(session) session\n".write(toFile: input, atomically: true, encoding: .utf8)
            let chat = try TestServer(
                executable: "/bin/sh",
                arguments: ["-c", "exec \"$1\" chat --config \"$2\" < \"$3\"", "sh", CLI.binary, config, input],
                environment: ["PATH": "/usr/bin:/bin", "HOME": NSTemporaryDirectory(), "PB_TEST_KEY": OperationsFixture.apiKey])
            let (code, output) = try await chat.waitForCompleteOutput(timeout: .seconds(60))
            #expect(code == 0, "\(session) session: \(output)")
            #expect(output.contains("You said: hello from the \(session) session"), "the \(session) session is answered: \(output)")
        }
        #expect(try await fixture.query("SELECT count(*) FROM answered") == ["2"], "both triggers claimed")
        #expect(try await fixture.query("SELECT count(*) FROM reply") == ["2"], "both replies in history")
    }

    @Test func versionPrintsTheVersion() async throws {
        let (code, output) = try await CLI.run(["version"])
        #expect(code == 0)
        #expect(output.hasPrefix("persona-bridge "))
    }
}

import Foundation
import PBTestSupport
import Testing

/// The path from nothing to a running Discord bot, as a new user walks it: `init`, `discord invite`,
/// `check --online` (good and bad token, intent switch off, a missing permission), then `run`, against the fake.
@Suite(.serialized) struct DiscordOnboardingTests {
    static let viewSendHistoryThreads: UInt64 = (1 << 10) | (1 << 11) | (1 << 16) | (1 << 38)
    static let manageWebhooks: UInt64 = 1 << 29

    /// API requests other than GETs since `since`: an online check must not make any.
    static func writes(_ fake: FakeDiscord, since: Int) async throws -> [String] {
        try await fake.get("requests?since=\(since)").array.filter { $0["method"].string != "GET" }
            .map { "\($0["method"].string ?? "") \($0["route"].string ?? "")" }
    }

    static func lastRequestID(_ fake: FakeDiscord) async throws -> Int {
        try await fake.get("requests").array.last?["id"].int ?? 0
    }

    @Test func initThenInviteThenCheckOnlineThenRunAnswers() async throws {
        let fake = try await FakeDiscord.start()
        defer { fake.stop() }
        let (model, modelPort) = try await startPythonServer("model_server.py")
        defer { model.stop() }
        let bot = try await Onboarding.initialise([
            "--platform", "discord", "--persona", "marta", "--channel", World.general, "--server", World.guild,
            "--secret-env", "PB_DISCORD_TOKEN", "--discord-api-url", fake.apiBase,
        ], modelPort: modelPort, prefix: "pb-discord-onboarding")
        defer { bot.remove() }
        let good = ["PB_DISCORD_TOKEN": "fake-bot-token"]

        // The invite: application id from GET /oauth2/applications/@me, permissions from use_webhooks = true.
        let invite = try await bot.command(["discord", "invite", "--config", bot.config], environment: good)
        #expect(invite.code == 0, "\(invite.output)")
        let permissions = Self.viewSendHistoryThreads | Self.manageWebhooks
        #expect(invite.output.contains("client_id=\(World.bot)&scope=bot+applications.commands&permissions=\(permissions)"),
                "\(invite.output)")
        #expect(invite.output.contains("Manage Webhooks") && invite.output.contains("Read Message History"), "\(invite.output)")
        let refused = try await bot.command(["discord", "invite", "--config", bot.config], environment: ["PB_DISCORD_TOKEN": "wrong"])
        #expect(refused.code == 1 && refused.output.contains("application_id"), "\(refused.output)")

        // A good token: everything verified, nothing written to Discord.
        var since = try await Self.lastRequestID(fake)
        let check = try await bot.command(["check", "--online", "--config", bot.config], environment: good)
        #expect(check.code == 0, "\(check.output)")
        #expect(check.output.contains("discord: ok: the token from env PB_DISCORD_TOKEN is valid"), "\(check.output)")
        #expect(check.output.contains("Message Content intent is enabled"), "\(check.output)")
        #expect(check.output.contains("#general (\(World.general)) in Fake Guild: the bot can view channel, send messages"),
                "\(check.output)")
        #expect(!check.output.contains("fake-bot-token"), "the token is never printed")
        #expect(try await Self.writes(fake, since: since).isEmpty, "check --online only reads")

        // A bad token: refused, naming the fix.
        since = try await Self.lastRequestID(fake)
        let bad = try await bot.command(["check", "--online", "--config", bot.config], environment: ["PB_DISCORD_TOKEN": "not-the-token"])
        #expect(bad.code == 1, "\(bad.output)")
        #expect(bad.output.contains("discord: error: Discord refused the bot token") && bad.output.contains("Reset Token"), "\(bad.output)")
        #expect(!bad.output.contains("not-the-token"))

        // The portal's Message Content switch off: the gateway would close 4014.
        try await fake.post("config", ["application_flags": 0])
        let noIntent = try await bot.command(["check", "--online", "--config", bot.config], environment: good)
        #expect(noIntent.code == 1, "\(noIntent.output)")
        #expect(noIntent.output.contains("enable the Message Content intent in the Developer Portal (Bot → Privileged Gateway Intents)"),
                "\(noIntent.output)")
        try await fake.post("config", ["application_flags": 1 << 18])

        // No Send Messages: an error naming it; no Manage Webhooks: a warning (the bridge falls back to plain messages).
        try await fake.post("permissions", ["send_messages": false, "manage_webhooks": false])
        let denied = try await bot.command(["check", "--online", "--config", bot.config], environment: good)
        #expect(denied.code == 1, "\(denied.output)")
        #expect(denied.output.contains("the bot lacks Send Messages — fix: grant Send Messages"), "\(denied.output)")
        #expect(denied.output.contains("discord: warning:") && denied.output.contains("Manage Webhooks"), "\(denied.output)")
        try await fake.post("permissions", ["send_messages": true, "manage_webhooks": true])
        #expect(try await Self.writes(fake, since: since).isEmpty, "no check wrote to Discord")

        // Run: a message that names Marta is answered.
        let bridge = try bot.run(environment: good)
        defer { bridge.stop() }
        try await eventually("commands registered", detail: { bridge.output }) { try await fake.counter("command_puts") >= 1 }
        try await fake.inject("Marta, a mug of something hot please")
        try await eventually("Marta's reply", detail: { bridge.output }) {
            try await fake.botMessages(in: World.general).contains { $0["content"].string?.contains("You said:") == true }
        }
        kill(bridge.pid, SIGTERM)
        #expect(try await bridge.waitForExit(timeout: .seconds(60)) == 0, "\(bridge.output)")
    }

    @Test func inviteAsksForManageWebhooksOnlyWhenWebhooksAreOn() async throws {
        let dir = try TestBot.write(modelPort: 9, extra: """
            [platforms.discord]
            token = "${PB_DISCORD_TOKEN}"
            application_id = "123456789012345678"
            use_webhooks = false

            [[channels]]
            platform = "discord"
            channel = "\(World.general)"
            personas = ["aria"]
            """, prefix: "pb-discord-invite")
        defer { try? FileManager.default.removeItem(at: dir) }
        let config = dir.appendingPathComponent("bot.toml")
        let environment = ["PATH": "/usr/bin:/bin", "HOME": dir.path, "PB_TEST_KEY": "k", "PB_DISCORD_TOKEN": "unused"]
        for (webhooks, expected) in [(false, Self.viewSendHistoryThreads), (true, Self.viewSendHistoryThreads | Self.manageWebhooks)] {
            let text = try String(contentsOf: config, encoding: .utf8)
                .replacingOccurrences(of: "use_webhooks = \(!webhooks)", with: "use_webhooks = \(webhooks)")
            try text.write(to: config, atomically: true, encoding: .utf8)
            // No Discord API is reachable here: the application id comes from the config.
            let process = try TestServer(executable: Onboarding.binary, arguments: ["discord", "invite", "--config", config.path],
                                         environment: environment)
            let (code, output) = try await process.waitForCompleteOutput(timeout: .seconds(60))
            #expect(code == 0, "\(output)")
            #expect(output.contains("client_id=123456789012345678&scope=bot+applications.commands&permissions=\(expected)\n"),
                    "use_webhooks = \(webhooks): \(output)")
            #expect(output.contains("Manage Webhooks") == webhooks, "\(output)")
            #expect(output.contains("Permissions (integer \(expected))"), "\(output)")
        }
    }
}

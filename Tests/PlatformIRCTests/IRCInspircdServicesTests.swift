import BridgeConfig
import BridgeCore
import Logging
import PBTestSupport
@testable import PlatformIRC
import Storage
import Testing

/// SASL PLAIN, the NickServ fallback and account-based moderators on InspIRCd 3 linked to Atheme services.
@Suite(.serialized) struct IRCInspircdServicesTests {
    /// Registers services account `nick` with `password` (Atheme logs the registering client in).
    static func register(_ nick: String, password: String, port: Int) async throws -> IRCHuman {
        let human = try await IRCHuman.connect(port: port, nick: nick)
        try await human.send("PRIVMSG NickServ :REGISTER \(password) \(nick)@example.org")
        _ = try await human.waitFor("\(nick) registered") { $0.contains("NickServ") && $0.contains("is now registered") }
        return human
    }

    /// Registers account `ariaacct` (password `s3cret-pw`), then runs the bot with that account, `saslPassword`
    /// for SASL and the right password for the NickServ fallback.
    static func startBot(_ server: Inspircd, saslPassword: String) async throws -> (IRCPlatform, Task<Void, Never>) {
        let owner = try await register("ariaacct", password: "s3cret-pw", port: server.port)
        await owner.close()
        var configuration = botConfiguration(port: server.port, channels: ["#test"])
        configuration.saslAccount = "ariaacct"
        configuration.saslPassword = saslPassword
        configuration.nickServPassword = "s3cret-pw"
        let platform = IRCPlatform(configuration: configuration, logger: Logger(label: "test.irc"))
        return (platform, runPlatform(platform))
    }

    @Test func saslPlainLogsInWithARealServicesAccount() async throws {
        let server = try await Inspircd.start(services: true)
        defer { server.stop() }
        let (platform, task) = try await Self.startBot(server, saslPassword: "s3cret-pw")
        try await eventually("registered after SASL") { platform.isRegistered }
        #expect(platform.saslSucceeded)
        #expect(platform.enabledCapabilities.contains("sasl"))
        // The server confirms the login: WHOIS shows the account (330).
        let watcher = try await IRCHuman.connect(port: server.port, nick: "watcher")
        try await watcher.send("WHOIS aria")
        let whois = try await watcher.waitFor("WHOIS account line") { $0.contains(" 330 ") || $0.contains(" 318 ") }
        #expect(whois.contains(" 330 watcher aria ariaacct "), "\(whois)")
        task.cancel()
        await task.value
        await watcher.close()
    }

    @Test func wrongSASLPasswordFallsBackToNickServIdentify() async throws {
        let server = try await Inspircd.start(services: true)
        defer { server.stop() }
        let (platform, task) = try await Self.startBot(server, saslPassword: "wrong-pw")
        try await eventually("registered after the failed SASL attempt") { platform.isRegistered }
        #expect(!platform.saslSucceeded)
        let watcher = try await IRCHuman.connect(port: server.port, nick: "watcher")
        // One WHOIS at a time: each waits for its end (318), so the server's flood limit is never near.
        try await eventually("NickServ IDENTIFY logged the bot in") {
            let ends = watcher.lines.filter { $0.contains(" 318 watcher aria ") }.count
            try? await watcher.send("WHOIS aria")
            try await eventually("the end of WHOIS", timeout: .seconds(20)) {
                watcher.lines.filter { $0.contains(" 318 watcher aria ") }.count > ends
            }
            return watcher.lines.contains { $0.contains(" 330 watcher aria ariaacct ") }
        }
        task.cancel()
        await task.value
        await watcher.close()
    }

    @Test func configuredAccountIsModeratorWithoutChannelOps() async throws {
        let server = try await Inspircd.start(services: true)
        defer { server.stop() }
        let alice = try await IRCHuman.connect(port: server.port, nick: "alice")
        try await alice.join("#test")  // creator: +o, so dave and bob are plain members
        let dave = try await Self.register("dave", password: "dave-pw", port: server.port)
        try await dave.join("#test")
        let bob = try await IRCHuman.connect(port: server.port, nick: "bob")
        try await bob.join("#test")
        let personas = [Persona(name: "aria", displayName: "Aria", character: "You are Aria."),
                        Persona(name: "rook", displayName: "Rook", character: "You are Rook.")]
        let bridge = try RunningBridge.start(port: server.port, model: CountingModel(reply: "unused"), personas: personas) {
            $0.adminAccounts = ["dave"]
        }
        _ = try await alice.waitFor("aria joins #test") { $0.hasPrefix(":aria!") && $0.contains(" JOIN ") }
        #expect(bridge.platform.enabledCapabilities.contains("account-tag"))
        try await expectPersonaSetRefused(for: bob, thenAllowedFor: dave, in: bridge)
        await bridge.stop()
        for human in [alice, dave, bob] { await human.close() }
    }
}

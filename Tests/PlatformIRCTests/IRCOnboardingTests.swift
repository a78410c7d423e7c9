import Foundation
import PBTestSupport
import Testing

/// The path from nothing to a running IRC bot on a real ngIRCd: `init`, `check --online` (good and bad server
/// password, a port nobody listens on), then `run`, and a message is answered.
@Suite(.serialized) struct IRCOnboardingTests {
    static func initialise(port: Int, modelPort: Int, extra: [String] = []) async throws -> Onboarding {
        try await Onboarding.initialise([
            "--platform", "irc", "--persona", "marta", "--channel", "#tavern", "--host", "127.0.0.1",
            "--port", "\(port)", "--no-tls", "--nick", "marta",
        ] + extra, modelPort: modelPort, prefix: "pb-irc-onboarding")
    }

    @Test func initThenCheckOnlineThenRunAnswers() async throws {
        let irc = try await Ngircd.start()
        defer { irc.stop() }
        let (model, modelPort) = try await startPythonServer("model_server.py")
        defer { model.stop() }
        let bot = try await Self.initialise(port: irc.port, modelPort: modelPort)
        defer { bot.remove() }

        let alice = try await IRCHuman.connect(port: irc.port, nick: "alice")
        try await alice.join("#tavern")
        let check = try await bot.command(["check", "--online", "--config", bot.config], environment: [:])
        #expect(check.code == 0, "\(check.output)")
        #expect(check.output.contains("irc: ok: registered at 127.0.0.1:\(irc.port) as marta"), "\(check.output)")
        // It said nothing and joined nothing: alice saw at most a QUIT of marta, never a JOIN or PRIVMSG.
        #expect(!alice.lines.contains { $0.hasPrefix(":marta!") && ($0.contains(" JOIN ") || $0.contains(" PRIVMSG ")) },
                "\(alice.lines)")

        let bridge = try bot.run(environment: [:])
        defer { bridge.stop() }
        do {
            _ = try await alice.waitFor("marta joins #tavern", timeout: .seconds(60)) { $0.hasPrefix(":marta!") && $0.contains(" JOIN ") }
            try await alice.send("PRIVMSG #tavern :Marta, one ale please")
            let reply = try await alice.waitFor("Marta's reply", timeout: .seconds(60)) {
                $0.hasPrefix(":marta!") && $0.contains(" PRIVMSG #tavern :") && $0.contains("You said:")
            }
            #expect(reply.contains("one ale please"), "\(reply)")
            kill(bridge.pid, SIGTERM)
            #expect(try await bridge.waitForExit(timeout: .seconds(60)) == 0, "\(bridge.output)")
        } catch {
            Issue.record("persona-bridge output:\n\(bridge.output)")
            throw error
        }
        await alice.close()
    }

    @Test func checkOnlineNamesAWrongServerPasswordAndAnUnreachableServer() async throws {
        let irc = try await Ngircd.start(password: "letmein")
        defer { irc.stop() }
        let bot = try await Self.initialise(port: irc.port, modelPort: 9, extra: ["--server-password-env", "PB_IRC_PASS"])
        defer { bot.remove() }
        // The model is unreachable here (port 9): only the IRC lines are asserted.
        let good = try await bot.command(["check", "--online", "--config", bot.config], environment: ["PB_IRC_PASS": "letmein"])
        #expect(good.output.contains("irc: ok: registered at 127.0.0.1:\(irc.port) as marta"), "\(good.output)")

        let bad = try await bot.command(["check", "--online", "--config", bot.config], environment: ["PB_IRC_PASS": "wrong"])
        #expect(bad.code == 1, "\(bad.output)")
        #expect(bad.output.contains("irc: error: IRC registration failed") && bad.output.contains("fix: the server refused the password: correct server_password (read from env PB_IRC_PASS)"),
                "\(bad.output)")
        #expect(!bad.output.contains("letmein") && !bad.output.contains("wrong\n"))

        let closed = try freeLoopbackPort()
        let nowhere = try await Self.initialise(port: closed, modelPort: 9)
        defer { nowhere.remove() }
        let unreachable = try await nowhere.command(["check", "--online", "--config", nowhere.config], environment: [:])
        #expect(unreachable.code == 1, "\(unreachable.output)")
        #expect(unreachable.output.contains("cannot connect to 127.0.0.1:\(closed)") && unreachable.output.contains("fix: check host, port and tls"),
                "\(unreachable.output)")
    }
}

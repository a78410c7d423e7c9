import Foundation
import HTTPTransport
import Logging
import PBTestSupport
@testable import PlatformMatrix
import Testing

/// The path from nothing to a running Matrix bot on a real Synapse: `init`, `check --online` (good and bad
/// password, a room the bot is not in), then `run`, and a message is answered.
@Suite(.serialized) struct MatrixOnboardingTests {
    @Test func initThenCheckOnlineThenRunAnswers() async throws {
        let synapse = try await SharedSynapse.shared.get()
        let http = HTTPClient()
        defer { http.shutdown() }
        let model = try await FakeModel.start(http: http)
        defer { model.stop() }
        let users = try await synapse.register(["bot", "alice"])
        let alice = Human(users["alice"]!, synapse: synapse, http: http)
        let botID = users["bot"]!.userID
        let room = try await alice.createRoom(name: "Onboarding", invite: [botID])
        let bot = try await Onboarding.initialise([
            "--platform", "matrix", "--persona", "marta", "--channel", room, "--homeserver", synapse.url,
            "--user-id", botID, "--matrix-login", "password", "--secret-env", "PB_MATRIX_PASSWORD",
        ], modelPort: model.port, prefix: "pb-matrix-onboarding")
        defer { bot.remove() }
        let good = ["PB_MATRIX_PASSWORD": users["bot"]!.password]
        let botClient = Human(users["bot"]!, synapse: synapse, http: http).client
        let devicesBefore = try await botClient.call(.get, "/devices")["devices"]?.array?.count ?? 0

        let check = try await bot.command(["check", "--online", "--config", bot.config], environment: good)
        #expect(check.code == 0, "\(check.output)")
        #expect(check.output.contains("matrix: ok: the password from env PB_MATRIX_PASSWORD logs in as \(botID)"), "\(check.output)")
        #expect(check.output.contains("matrix: ok: room \(room): invited"), "\(check.output)")
        #expect(!check.output.contains(users["bot"]!.password), "the password is never printed")
        let devicesAfter = try await botClient.call(.get, "/devices")["devices"]?.array?.count ?? 0
        #expect(devicesAfter == devicesBefore, "the check logs its device out again")
        #expect(try await !alice.joinedMembers(room).contains(botID), "check joins nothing")

        let bad = try await bot.command(["check", "--online", "--config", bot.config], environment: ["PB_MATRIX_PASSWORD": "wrong"])
        #expect(bad.code == 1, "\(bad.output)")
        #expect(bad.output.contains("matrix: error: the homeserver refused the password login") && bad.output.contains("fix:"),
                "\(bad.output)")

        // An access token instead of the password: whoami, good and bad.
        let tokenClient = MatrixClient(homeserver: synapse.url, http: http, logger: Logger(label: "test"))
        let token = try await tokenClient.login(user: botID, password: users["bot"]!.password, deviceID: nil, deviceName: "token test").accessToken
        let tokenBot = try await Onboarding.initialise([
            "--platform", "matrix", "--persona", "marta", "--channel", room, "--homeserver", synapse.url,
            "--user-id", botID, "--matrix-login", "token", "--secret-env", "PB_MATRIX_TOKEN",
        ], modelPort: model.port, prefix: "pb-matrix-onboarding-token")
        defer { tokenBot.remove() }
        let withToken = try await tokenBot.command(["check", "--online", "--config", tokenBot.config], environment: ["PB_MATRIX_TOKEN": token])
        #expect(withToken.code == 0 && withToken.output.contains("matrix: ok: the access token from env PB_MATRIX_TOKEN is valid for \(botID)"),
                "\(withToken.output)")
        let badToken = try await tokenBot.command(["check", "--online", "--config", tokenBot.config],
                                                  environment: ["PB_MATRIX_TOKEN": "syt_not_a_token"])
        #expect(badToken.code == 1 && badToken.output.contains("matrix: error: the homeserver refused the access token")
                    && badToken.output.contains("fix: log in as the bot"), "\(badToken.output)")
        #expect(!withToken.output.contains(token))

        // A room nobody invited the bot to: named, with the fix.
        let other = try await alice.createRoom(name: "Elsewhere", invite: [])
        let otherConfig = bot.directory.appendingPathComponent("other.toml").path
        try String(contentsOfFile: bot.config, encoding: .utf8).replacingOccurrences(of: room, with: other)
            .write(toFile: otherConfig, atomically: true, encoding: .utf8)
        let notInvited = try await bot.command(["check", "--online", "--config", otherConfig], environment: good)
        #expect(notInvited.code == 1, "\(notInvited.output)")
        #expect(notInvited.output.contains("room \(other): \(botID) is neither joined nor invited — fix: invite \(botID)"),
                "\(notInvited.output)")

        let bridge = try bot.run(environment: good)
        defer { bridge.stop() }
        try await eventually("the bot joins", timeout: .seconds(90)) { try await alice.joinedMembers(room).contains(botID) }
        let joined = try await bot.command(["check", "--online", "--config", bot.config], environment: good)
        #expect(joined.output.contains("matrix: ok: room \(room): joined"), "\(joined.output)")
        let question = try await alice.say("Marta, is the kitchen still open?", in: room)
        _ = try await eventuallyValue("Marta's reply", timeout: .seconds(90)) {
            try await alice.messages(in: room).first { $0.sender == botID && $0.inReplyTo == question }
        }
        kill(bridge.pid, SIGTERM)
        #expect(try await bridge.waitForExit(timeout: .seconds(60)) == 0, "\(bridge.output)")
    }
}

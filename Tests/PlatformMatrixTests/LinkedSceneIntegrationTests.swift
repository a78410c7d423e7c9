import Foundation
import HTTPTransport
import PBTestSupport
@testable import PlatformMatrix
import Testing

/// A linked scene through `persona-bridge run`: the in-repo fake Discord, a real ngIRCd and a real Synapse, joined
/// into one scene; a person on IRC addresses the persona and the reply streams into all three.
@Suite(.serialized) struct LinkedSceneIntegrationTests {
    static let guild = "900000000000000100"
    static let general = "900000000000000301"
    static let botSnowflake = "900000000000000001"

    @Test func anIRCMentionIsAnsweredOnDiscordIRCAndMatrixFromOneHistory() async throws {
        let synapse = try await SharedSynapse.shared.get()
        let http = HTTPClient()
        defer { http.shutdown() }
        let model = try await FakeModel.start(http: http)
        defer { model.stop() }
        let (discord, discordPort) = try await startPythonServer("discord_server.py")
        defer { discord.stop() }
        let irc = try await Ngircd.start()
        defer { irc.stop() }

        let users = try await synapse.register(["bot", "alice"])
        let alice = Human(users["alice"]!, synapse: synapse, http: http)
        let botID = users["bot"]!.userID
        let room = try await alice.createRoom(name: "Harbour", invite: [botID])
        let dir = try TestBot.write(modelPort: model.port, extra: """
            [platforms.discord]
            token = "${PB_DISCORD_TOKEN}"
            api_base_url = "http://127.0.0.1:\(discordPort)/api/v10"

            [platforms.irc]
            network = "testnet"
            host = "127.0.0.1"
            port = \(irc.port)
            tls = false
            nick = "pbridge"
            flood_burst = 10
            flood_rate = 20

            [platforms.matrix]
            homeserver_url = "\(synapse.url)"
            user_id = "\(botID)"
            password = "${PB_MATRIX_PASSWORD}"
            invite_allowlist = ["\(alice.id)"]

            [[scenes]]
            name = "harbour"
            personas = ["aria"]
            trigger = { mode = "mention", cooldown_seconds = 0 }
            relay_humans = true
            channels = [
              { platform = "discord", server = "\(Self.guild)", channel = "\(Self.general)" },
              { platform = "irc", server = "testnet", channel = "#harbour" },
              { platform = "matrix", channel = "\(room)" },
            ]
            """, prefix: "pb-linked")
        defer { try? FileManager.default.removeItem(at: dir) }
        let config = dir.appendingPathComponent("bot.toml").path
        let environment = ["PATH": "/usr/bin:/bin", "HOME": dir.path, "PB_TEST_KEY": "sk-test-secret",
                           "PB_DISCORD_TOKEN": "fake-bot-token", "PB_MATRIX_PASSWORD": users["bot"]!.password]
        let binary = RepoPaths.builtExecutable("persona-bridge")
        let check = try TestServer(executable: binary, arguments: ["check", "--config", config], environment: environment)
        #expect(try await check.waitForExit(timeout: .seconds(60)) == 0, "check accepts the linked scene: \(check.output)")
        #expect(check.output.contains("1 linked scene"), "\(check.output)")

        // Closed at the end, or on a failure below; if joining fails, stopping ngIRCd ends its connection.
        let carol = try await IRCHuman.connect(port: irc.port, nick: "carol")
        try await carol.join("#harbour")
        let bridge = try TestServer(executable: binary, arguments: ["run", "--config", config], environment: environment)
        defer { bridge.stop() }
        do {
            _ = try await carol.waitFor("the bridge joins #harbour", timeout: .seconds(90)) {
                $0.hasPrefix(":pbridge!") && $0.contains(" JOIN ")
            }
            try await eventually("the bridge joins the Matrix room", timeout: .seconds(90)) {
                try await alice.joinedMembers(room).contains(botID)
            }
            try await eventually("the bridge is on the fake Discord", timeout: .seconds(90)) {
                try await Self.control(http, discordPort, "stats")["command_puts"]?.int ?? 0 >= 1
            }
            let tokens = ["Fair ", "winds, ", "carol. ", "The ", "tide ", "is ", "in ", "and ", "the ", "nets ", "are ", "full."]
            let final = tokens.joined()
            try await model.script([["tokens": .array(tokens.map { .string($0) }), "token_interval": .number(0.08)]])
            try await carol.send("PRIVMSG #harbour :Aria, what news from the docks?")

            // IRC: the reply's lines, each with the persona's name (one nick speaks for every persona).
            try await eventually("the whole reply on IRC", timeout: .seconds(60), detail: { carol.lines.suffix(20).joined(separator: "\n") }) {
                carol.lines.filter { $0.hasPrefix(":pbridge!") && $0.contains(" PRIVMSG #harbour :Aria: ") }
                    .map { line in line.range(of: " :Aria: ").map { String(line[$0.upperBound...]) } ?? "" }
                    .joined(separator: " ") == final
            }
            // Discord: one message, edited while the tokens came, with the complete text in the end.
            let discordReply = try await eventuallyValue("the whole reply on Discord", timeout: .seconds(60)) {
                try await Self.botMessages(http, discordPort).first { $0["content"]?.string == final }
            }
            #expect((discordReply["_edits"]?.int ?? 0) >= 1, "streamed on Discord with edits: \(discordReply)")
            // Discord's channel also shows who spoke on IRC (relay_humans).
            let relayed = try await Self.botMessages(http, discordPort).compactMap { $0["content"]?.string }
            #expect(relayed.contains("[irc] <carol> Aria, what news from the docks?"), "\(relayed)")
            // Matrix: the first message and its m.replace edits, ending on the complete text.
            let original = try await eventuallyValue("the reply on Matrix", timeout: .seconds(60)) {
                try await alice.messages(in: room).first { $0.sender == botID && $0.replaces == nil && !($0.content["body"]?.string ?? "").hasPrefix("[") }
            }
            try await eventually("the whole reply on Matrix", timeout: .seconds(60)) {
                shownContent(try await alice.event(original.eventID!, in: room))?["body"]?.string == final
            }
            let edits = try await alice.messages(in: room).filter { $0.replaces == original.eventID }
            #expect(!edits.isEmpty, "streamed on Matrix with m.replace")
            // One model request, whose history names the IRC speaker; the scene's history holds the reply once.
            let requests = try await Self.modelRequests(http, model.port)
            #expect(requests.count == 1, "\(requests)")
            let messages = requests.last?["body"]?["messages"]?.array ?? []
            #expect(messages.contains { message in
                let content = message["content"]?.string ?? ""
                return content.contains("Aria, what news from the docks?") && (message["name"]?.string == "carol" || content.contains("carol"))
            }, "\(messages)")
            let store = dir.appendingPathComponent("state/bridge.sqlite").path
            #expect(try await sqliteScalar(store, "SELECT count(*) FROM message WHERE text = '\(final)'") == "1")
            #expect(try await sqliteScalar(store, "SELECT speaker_name FROM message WHERE text = 'Aria, what news from the docks?'") == "carol")
        } catch {
            Issue.record("persona-bridge output:\n\(bridge.output.suffix(6_000))")
            await carol.close()
            throw error
        }
        await carol.close()
    }

    static func control(_ http: HTTPClient, _ port: Int, _ path: String) async throws -> MatrixJSON {
        let response = try await http.execute(HTTPRequest(url: "http://127.0.0.1:\(port)/_control/\(path)"))
        let bytes = try await response.body.collect(upTo: 64 << 20)
        guard response.status == 200 else { throw TestServerError("\(path): HTTP \(response.status)") }
        return try MatrixJSON.parse(bytes)
    }

    /// The bridge's messages (plain or webhook) in the linked Discord channel, oldest first.
    static func botMessages(_ http: HTTPClient, _ port: Int) async throws -> [MatrixJSON] {
        try await control(http, port, "messages?channel_id=\(general)").array?.filter {
            ($0["author"]?["id"]?.string == botSnowflake || $0["webhook_id"]?.string != nil) && $0["_deleted"]?.bool != true
        } ?? []
    }

    static func modelRequests(_ http: HTTPClient, _ port: Int) async throws -> [MatrixJSON] {
        try await control(http, port, "requests").array ?? []
    }
}

import Foundation
import HTTPTransport
import Logging
import PBTestSupport
@testable import PlatformMatrix
import SocketTransport
import Synchronization
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
        let irc = try await LinkedNgircd.start()
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

        let carol = try await LinkedIRCPerson.connect(port: irc.port, nick: "carol")
        defer { Task { await carol.close() } }
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
            throw error
        }
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

/// A real ngIRCd on a free loopback port (it cannot bind port 0, so candidate ports are retried).
struct LinkedNgircd {
    let server: TestServer
    let port: Int
    let directory: URL

    static func start() async throws -> LinkedNgircd {
        try await retryingOnBindError { _ in
            let port = try freeLoopbackPort()
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pb-ngircd-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let path = directory.appendingPathComponent("ngircd.conf").path
            try """
                [Global]
                Name = irc.test
                Info = PersonaBridge linked-scene test
                Listen = 127.0.0.1
                Ports = \(port)

                [Limits]
                MaxPenaltyTime = 0

                [Options]
                DNS = no
                Ident = no
                PAM = no
                """.write(toFile: path, atomically: true, encoding: .utf8)
            let server = try TestServer(executable: "ngircd", arguments: ["--nodaemon", "--config", path],
                                        missingHint: "install ngircd (apt-get install ngircd)")
            do {
                try await server.waitForOutput(") ready.", timeout: .seconds(30))
            } catch {
                server.stop()
                if server.output.contains("Can't bind") { throw PortInUseError(output: server.output) }
                throw TestServerError("ngircd did not start on \(port): \(error)")
            }
            if server.output.contains("Can't bind") {
                server.stop()
                throw PortInUseError(output: server.output)
            }
            return LinkedNgircd(server: server, port: port, directory: directory)
        }
    }

    func stop() {
        server.stop()
        try? FileManager.default.removeItem(at: directory)
    }
}

/// A person on IRC, on a raw line socket: records every line and answers PING.
final class LinkedIRCPerson: Sendable {
    let nick: String
    let socket: LineSocket
    private let received = Mutex<[String]>([])
    private let reader = Mutex<Task<Void, Never>?>(nil)

    private init(nick: String, socket: LineSocket) {
        self.nick = nick
        self.socket = socket
    }

    static func connect(port: Int, nick: String) async throws -> LinkedIRCPerson {
        let socket = try await LineSocket.connect(host: "127.0.0.1", port: port, logger: Logger(label: "test.irc-person"))
        let person = LinkedIRCPerson(nick: nick, socket: socket)
        // The socket's reader for the test's lifetime; `close()` cancels it.
        let task = Task { [person] in
            do {
                for try await bytes in socket.lines {
                    let line = String(decoding: bytes, as: UTF8.self)
                    person.received.withLock { $0.append(line) }
                    if line.hasPrefix("PING ") { try? await socket.send(Array(("PONG " + line.dropFirst(5) + "\r\n").utf8)) }
                }
            } catch {}
        }
        person.reader.withLock { $0 = task }
        try await person.send("NICK \(nick)")
        try await person.send("USER \(nick) 0 * :\(nick)")
        _ = try await person.waitFor("001 for \(nick)") { $0.contains(" 001 ") }
        return person
    }

    func send(_ line: String) async throws { try await socket.send(Array((line + "\r\n").utf8)) }

    func join(_ channel: String) async throws {
        try await send("JOIN \(channel)")
        _ = try await waitFor("\(nick) joined \(channel)") { $0.contains(" 366 \(self.nick) \(channel) ") }
    }

    var lines: [String] { received.withLock { $0 } }

    func waitFor(_ what: String, timeout: Duration = .seconds(20), _ predicate: @Sendable (String) -> Bool) async throws -> String {
        try await eventuallyValue(what, timeout: timeout, detail: { self.lines.suffix(30).joined(separator: "\n") }) {
            lines.first(where: predicate)
        }
    }

    func close() async {
        reader.withLock { $0?.cancel() }
        await socket.close()
    }
}

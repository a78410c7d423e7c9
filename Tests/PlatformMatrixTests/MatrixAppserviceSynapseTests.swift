import BridgeConfig
import BridgeCore
import Foundation
import HTTPTransport
import Logging
import ModelClient
import PBTestSupport
@testable import PlatformMatrix
import Storage
import Testing

/// A bridge in appservice mode against a real Synapse that loads the registration `persona-bridge matrix
/// registration` wrote, unedited. Synapse keeps its default message rate limits (`rc_message` 0.2/s, burst 10)
/// and the registration keeps them on.
final class AppserviceScene: Sendable {
    let synapse: Synapse
    let http: HTTPClient
    let model: FakeModel
    let directory: URL
    let storePath: String
    let alice: Human
    let bot: Bot
    let room: String
    let hsToken: String
    let listenerPort: Int
    let store: any Store

    static let aria = Persona(name: "aria", displayName: "Aria the Keeper", character: "You are Aria, a tavern keeper.")
    static let bard = Persona(name: "bard", displayName: "Bard of Reeds", character: "You are a bard.")
    static var ariaUser: String { "@pb_aria:localhost" }
    static var bardUser: String { "@pb_bard:localhost" }
    static var senderUser: String { "@personabridge:localhost" }

    private init(synapse: Synapse, http: HTTPClient, model: FakeModel, directory: URL, storePath: String, alice: Human, bot: Bot,
                 room: String, hsToken: String, listenerPort: Int, store: any Store) {
        self.synapse = synapse
        self.http = http
        self.model = model
        self.directory = directory
        self.storePath = storePath
        self.alice = alice
        self.bot = bot
        self.room = room
        self.hsToken = hsToken
        self.listenerPort = listenerPort
        self.store = store
    }

    /// The config the CLI reads: appservice mode on `listenPort`.
    static func writeConfig(_ directory: URL, synapsePort: Int, listenPort: Int) throws {
        try """
            personas_dir = "personas"
            [model]
            provider = "openrouter"
            base_url = "http://127.0.0.1:9/api/v1"
            api_key_env = "PB_TEST_KEY"
            [platforms.matrix]
            mode = "appservice"
            homeserver_url = "http://127.0.0.1:\(synapsePort)"
            server_name = "localhost"
            listen_address = "127.0.0.1"
            listen_port = \(listenPort)
            invite_allowlist = [":localhost"]
            """.write(to: directory.appendingPathComponent("bot.toml"), atomically: true, encoding: .utf8)
    }

    /// `persona-bridge matrix registration`; its exit code and output.
    static func registration(_ directory: URL) async throws -> (Int32, String) {
        let run = try TestServer(executable: RepoPaths.builtExecutable("persona-bridge"),
                                 arguments: ["matrix", "registration", "--config", directory.appendingPathComponent("bot.toml").path],
                                 environment: ["PATH": "/usr/bin:/bin", "HOME": NSTemporaryDirectory(), "PB_TEST_KEY": "k"])
        let code = try await run.waitForExit(timeout: .seconds(60))
        return (code, run.output)
    }

    /// A platform + router on the store at `storePath`, its listener bound first (port 0 unless given).
    static func makeBot(directory: URL, synapsePort: Int, storePath: String, model: any ChatModel, http: HTTPClient,
                        listenPort: Int = 0, boundRooms: [String: [String]] = [:]) async throws -> (MatrixPlatform, Router, Int, any Store) {
        let tokens = try MatrixAppserviceTokens.load(
            asTokenPath: directory.appendingPathComponent("matrix-appservice/as_token").path,
            hsTokenPath: directory.appendingPathComponent("matrix-appservice/hs_token").path)
        let avatar = directory.appendingPathComponent("personas/aria.png").path
        let appservice = MatrixAppserviceConfiguration(
            serverName: "localhost", listenAddress: "127.0.0.1", listenPort: listenPort, asToken: tokens.asToken, hsToken: tokens.hsToken,
            personas: [PersonaIdentity(name: "aria", displayName: aria.displayName, avatarURL: avatar),
                       PersonaIdentity(name: "bard", displayName: bard.displayName)])
        var appserviceWithRooms = appservice
        appserviceWithRooms.boundRooms = boundRooms
        var configuration = MatrixPlatformConfiguration(
            homeserverURL: "http://127.0.0.1:\(synapsePort)", userID: appservice.senderUserID, accessToken: tokens.asToken,
            inviteAllowlist: [":localhost"], catchUpWindow: .seconds(600), retryInitialDelay: .milliseconds(200), retryMaxDelay: .seconds(2))
        configuration.appservice = appserviceWithRooms
        let store = try SQLiteStore(.file(path: storePath))
        var logger = Logger(label: "test.matrix-as")
        logger.logLevel = .debug
        let platform = MatrixPlatform(configuration: configuration, http: http, store: store, logger: logger)
        let port = try await platform.startAppserviceListener()
        let router = Router(configuration: RouterConfiguration(personas: [aria, bard], defaultPersonas: ["aria", "bard"]),
                            model: model, store: store, platforms: [platform], logger: Logger(label: "test.router"))
        return (platform, router, port, store)
    }

    /// Registration (twice: tokens first, then with the bound port), Synapse with it, the bridge, alice and a room.
    static func start() async throws -> AppserviceScene {
        _ = try Synapse.python()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pb-matrix-as-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("personas"), withIntermediateDirectories: true)
        try Data(tinyPNG(red: 200)).write(to: directory.appendingPathComponent("personas/aria.png"))
        let synapsePort = try freeLoopbackPort()
        try writeConfig(directory, synapsePort: synapsePort, listenPort: 0)
        let (firstCode, firstOutput) = try await registration(directory)
        #expect(firstCode == 0 && firstOutput.contains("Generated new as_token"), "\(firstOutput)")

        let http = HTTPClient()
        let model = try await FakeModel.start(http: http)
        let storePath = directory.appendingPathComponent("state.sqlite").path
        let (platform, router, port, store) = try await makeBot(directory: directory, synapsePort: synapsePort, storePath: storePath,
                                                            model: model.client(), http: http)
        // The second run names the bound port and reuses the tokens without printing them.
        try writeConfig(directory, synapsePort: synapsePort, listenPort: port)
        let (code, output) = try await registration(directory)
        let hsToken = try String(contentsOf: directory.appendingPathComponent("matrix-appservice/hs_token"), encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(code == 0 && output.contains("Reused the tokens") && !output.contains(hsToken), "\(output)")
        let registrationFile = directory.appendingPathComponent("matrix-appservice/registration.yaml").path
        #expect(try String(contentsOfFile: registrationFile, encoding: .utf8).contains("url: \"http://127.0.0.1:\(port)\""))

        let synapse = try await Synapse.start(defaultRateLimits: true, port: synapsePort, appservices: [registrationFile])
        let bot = Bot.launch(platform: platform, router: router)
        try await eventually("the appservice bridge is ready") { platform.isReady || bot.failure.get() != nil }
        if let error = bot.failure.get() { throw error }
        let users = try await synapse.register(["alice"])
        let alice = Human(users["alice"]!, synapse: synapse, http: http)
        let room = try await alice.createRoom(name: "Tavern", invite: [senderUser])
        try await eventually("the appservice user joins on the invite") { try await alice.joinedMembers(room).contains(senderUser) }
        return AppserviceScene(synapse: synapse, http: http, model: model, directory: directory, storePath: storePath, alice: alice,
                               bot: bot, room: room, hsToken: hsToken, listenerPort: port, store: store)
    }

    /// A streamed reply made of `tokens`.
    func script(tokens: [String], interval: Double = 0.03) async throws {
        try await model.script([["tokens": .array(tokens.map { .string($0) }), "token_interval": .number(interval)]])
    }

    /// `sender`'s first message (not an edit) after `after`, once it is there.
    func reply(from sender: String, after trigger: String) async throws -> MatrixEvent {
        try await eventuallyValue("a reply from \(sender)", timeout: .seconds(90)) {
            let messages = try await alice.messages(in: room)
            guard let start = messages.firstIndex(where: { $0.eventID == trigger }) else { return nil }
            return messages[start...].first { $0.sender == sender && $0.replaces == nil }
        }
    }

    /// Waits until clients show `text` for `original`.
    func waitUntilShown(_ original: MatrixEvent, _ text: String) async throws {
        try await eventually("the complete text as the latest edit", timeout: .seconds(120)) {
            shownContent(try await alice.event(original.eventID!, in: room))?["body"]?.string == text
        }
    }

    /// One request to the bridge's listener as the homeserver would send it.
    func put(_ path: String, body: [UInt8], token: String?) async throws -> (Int, String) {
        var headers: HTTPHeaders = ["Content-Type": "application/json"]
        if let token { headers.add(name: "Authorization", value: "Bearer \(token)") }
        let response = try await http.execute(HTTPRequest(method: .put, url: "http://127.0.0.1:\(listenerPort)\(path)", headers: headers,
                                                          body: body))
        let data = try await response.body.collect(upTo: 1 << 20)
        return (response.status, String(decoding: data, as: UTF8.self))
    }

    func finish() async {
        await bot.stop()
        model.stop()
        synapse.stop()
        http.shutdown()
        try? FileManager.default.removeItem(at: directory)
    }

    /// A 1×1 PNG of the given red value.
    static func tinyPNG(red: UInt8) -> [UInt8] {
        // Not decoded by the test: the homeserver stores bytes; only the content hash matters to the bridge.
        [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + Array("pb-test-avatar-\(red)".utf8)
    }
}

@Suite(.serialized) struct MatrixAppserviceSynapseTests {
    @Test func twoPersonasReplyAsTwoUsersWithTheirNamesAndStreamUnderDefaultRateLimits() async throws {
        let scene = try await AppserviceScene.start()
        let (alice, room) = (scene.alice, scene.room)

        let tokens = (1...40).map { "word\($0) " }
        try await scene.script(tokens: tokens)
        let toAria = try await alice.say("Aria, tell me a long story", in: room)
        let ariaReply = try await scene.reply(from: AppserviceScene.ariaUser, after: toAria)
        #expect(ariaReply.inReplyTo == toAria)
        try await scene.waitUntilShown(ariaReply, tokens.joined())
        let ariaEdits = try await alice.messages(in: room).filter { $0.replaces == ariaReply.eventID }
        #expect(!ariaEdits.isEmpty && ariaEdits.allSatisfy { $0.sender == AppserviceScene.ariaUser })

        try await scene.script(tokens: ["A ", "song ", "for ", "you."])
        let toBard = try await alice.say("Bard, sing for us", in: room)
        let bardReply = try await scene.reply(from: AppserviceScene.bardUser, after: toBard)
        try await scene.waitUntilShown(bardReply, "A song for you.")

        let members = try await alice.joinedMembers(room)
        #expect(members.contains(AppserviceScene.ariaUser) && members.contains(AppserviceScene.bardUser))
        for (user, name) in [(AppserviceScene.ariaUser, "Aria the Keeper"), (AppserviceScene.bardUser, "Bard of Reeds")] {
            let profile = try await alice.client.call(.get, "/profile/\(MatrixClient.segment(user))")
            #expect(profile["displayname"]?.string == name)
            let member = try await alice.client.call(.get, "/rooms/\(MatrixClient.segment(room))/state/m.room.member/\(MatrixClient.segment(user))")
            #expect(member["displayname"]?.string == name)
        }
        let ariaProfile = try await alice.client.call(.get, "/profile/\(MatrixClient.segment(AppserviceScene.ariaUser))")
        #expect(ariaProfile["avatar_url"]?.string?.hasPrefix("mxc://") == true)
        // A persona removed from the room by a moderator (alice created it) leaves it.
        try await alice.say("!pb persona remove bard", in: room)
        try await eventually("bard leaves the room") { !(try await alice.joinedMembers(room).contains(AppserviceScene.bardUser)) }
        #expect(try await alice.joinedMembers(room).contains(AppserviceScene.ariaUser))
        let stats = scene.bot.platform.appserviceStats
        #expect(stats.avatarUploads == 1 && stats.usersRegistered == 2)
        #expect(stats.transactionsHandled > 0 && stats.requestsRefused == 0)
        // The history holds each persona's reply once, complete.
        let key = ChannelKey(platform: "matrix", channelID: room)
        try await eventually("both replies complete in history") {
            let texts = try await scene.store.recentMessages(in: key, limit: 20, after: nil).map(\.text)
            return texts.filter { $0 == tokens.joined() }.count == 1 && texts.filter { $0 == "A song for you." }.count == 1
        }
        await scene.finish()
    }

    @Test func replayedTransactionsWrongTokensAndBadJSONChangeNothing() async throws {
        let scene = try await AppserviceScene.start()
        let (room, key) = (scene.room, ChannelKey(platform: "matrix", channelID: scene.room))
        let store = scene.store
        func transaction(_ text: String, id: String) -> [UInt8] {
            let event: MatrixJSON = [
                "type": "m.room.message", "room_id": .string(room), "sender": .string(scene.alice.id), "event_id": .string(id),
                "origin_server_ts": .number(Date().timeIntervalSince1970 * 1000), "content": ["msgtype": "m.text", "body": .string(text)],
            ]
            return (["events": [event]] as MatrixJSON).bytes
        }
        func count(_ text: String) async throws -> Int {
            try await store.recentMessages(in: key, limit: 100, after: nil).filter { $0.text == text }.count
        }
        let before = scene.bot.platform.appserviceStats

        // No token: 401; a wrong one: 403. Nothing is handled either way.
        let (missing, _) = try await scene.put("/_matrix/app/v1/transactions/t-refused", body: transaction("refused one", id: "$r1"), token: nil)
        let (wrong, wrongBody) = try await scene.put("/_matrix/app/v1/transactions/t-refused", body: transaction("refused one", id: "$r1"),
                                                     token: "not-the-hs-token")
        #expect(missing == 401 && wrong == 403 && wrongBody.contains("M_FORBIDDEN"))

        // Bad JSON: 400 and the txnId stays unused, so the good body under the same id is handled.
        let (bad, badBody) = try await scene.put("/_matrix/app/v1/transactions/t-once", body: Array("{\"events\": [".utf8), token: scene.hsToken)
        #expect(bad == 400 && badBody.contains("M_NOT_JSON"))

        // A transaction and its replay: handled once, the replay answered 200.
        let body = transaction("the replayed line", id: "$replay1")
        let (first, _) = try await scene.put("/_matrix/app/v1/transactions/t-once", body: body, token: scene.hsToken)
        let (again, againBody) = try await scene.put("/_matrix/app/v1/transactions/t-once", body: body, token: scene.hsToken)
        #expect(first == 200 && again == 200 && againBody == "{}")
        try await eventually("the transaction's message in history") { try await count("the replayed line") == 1 }

        let after = scene.bot.platform.appserviceStats
        #expect(after.requestsRefused - before.requestsRefused == 2)
        #expect(after.badBodies - before.badBodies == 1)
        #expect(after.transactionsRepeated - before.transactionsRepeated == 1)
        // A marker through Synapse proves the queue moved past everything sent before it.
        let marker = try await scene.alice.say("marker after the replay", in: room)
        try await eventually("the marker in history") { try await store.message(in: key, messageID: marker) != nil }
        #expect(try await count("the replayed line") == 1)
        #expect(try await count("refused one") == 0)
        // Oversized bodies are refused unread.
        let huge = [UInt8](repeating: 0x20, count: 9 * 1024 * 1024)
        let (tooLarge, _) = try await scene.put("/_matrix/app/v1/transactions/t-huge", body: huge, token: scene.hsToken)
        #expect(tooLarge == 413)
        // Namespace queries: a persona's user exists; other names do not.
        let query = try await scene.http.execute(HTTPRequest(
            method: .get, url: "http://127.0.0.1:\(scene.listenerPort)/_matrix/app/v1/users/\(MatrixClient.segment(AppserviceScene.bardUser))",
            headers: ["Authorization": "Bearer \(scene.hsToken)"]))
        _ = try await query.body.collect(upTo: 1 << 16)
        let stranger = try await scene.http.execute(HTTPRequest(
            method: .get, url: "http://127.0.0.1:\(scene.listenerPort)/_matrix/app/v1/users/\(MatrixClient.segment("@pb_nobody:localhost"))",
            headers: ["Authorization": "Bearer \(scene.hsToken)"]))
        _ = try await stranger.body.collect(upTo: 1 << 16)
        #expect(query.status == 200 && stranger.status == 404)
        await scene.finish()
    }

    @Test func aRestartKeepsThePersonasUsersAndRooms() async throws {
        let scene = try await AppserviceScene.start()
        let (alice, room) = (scene.alice, scene.room)
        try await scene.script(tokens: ["Welcome ", "back."])
        let first = try await alice.say("Aria, are you there?", in: room)
        let reply = try await scene.reply(from: AppserviceScene.ariaUser, after: first)
        try await scene.waitUntilShown(reply, "Welcome back.")
        await scene.bot.stop()

        // A new process: a new listener port, the registration written again (same tokens), Synapse restarted on it.
        let (platform, router, port, _) = try await AppserviceScene.makeBot(
            directory: scene.directory, synapsePort: scene.synapse.port, storePath: scene.storePath, model: scene.model.client(),
            http: scene.http, boundRooms: [room: ["aria", "bard"]])
        try AppserviceScene.writeConfig(scene.directory, synapsePort: scene.synapse.port, listenPort: port)
        let (code, output) = try await AppserviceScene.registration(scene.directory)
        #expect(code == 0 && output.contains("Reused the tokens"), "\(output)")
        scene.synapse.crash()
        let registrationFile = scene.directory.appendingPathComponent("matrix-appservice/registration.yaml").path
        let synapse = try await Synapse.start(defaultRateLimits: true, port: scene.synapse.port, directory: scene.synapse.directory,
                                              appservices: [registrationFile])
        defer { synapse.stop() }
        let bot = Bot.launch(platform: platform, router: router)
        try await eventually("the restarted bridge is ready") { platform.isReady || bot.failure.get() != nil }
        if let error = bot.failure.get() { throw error }
        // [[channels]] binds bard here too: it joins at start, without having spoken (the bridge's user invites it).
        try await eventually("the bound bard joins at start") { try await alice.joinedMembers(room).contains(AppserviceScene.bardUser) }

        try await scene.script(tokens: ["Still ", "here."])
        let second = try await alice.say("Aria, still here after the restart?", in: room)
        let again: MatrixEvent
        do {
            again = try await scene.reply(from: AppserviceScene.ariaUser, after: second)
        } catch {
            print("synapse output:\n\(synapse.server.output.suffix(6000))")
            throw error
        }
        try await scene.waitUntilShown(again, "Still here.")
        #expect(platform.appserviceStats.usersRegistered == 0, "the users exist from the first run")
        #expect(platform.appserviceStats.avatarUploads == 0, "the avatar did not change")
        let members = try await alice.joinedMembers(room)
        #expect(members.contains(AppserviceScene.ariaUser) && members.contains(AppserviceScene.senderUser))
        // The persona was not re-joined: its only join is from the first run.
        let state = try await alice.client.call(.get, "/rooms/\(MatrixClient.segment(room))/state/m.room.member/\(MatrixClient.segment(AppserviceScene.ariaUser))")
        #expect(state["membership"]?.string == "join")
        await bot.stop()
        scene.model.stop()
        scene.http.shutdown()
        try? FileManager.default.removeItem(at: scene.directory)
    }
}

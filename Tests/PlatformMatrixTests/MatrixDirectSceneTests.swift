import BridgeConfig
import BridgeCore
import Foundation
import HTTPTransport
import Logging
import ModelClient
import PBTestSupport
@testable import PlatformMatrix
import Storage
import Synchronization
import Testing

/// Matrix direct chats (rooms whose invite has `is_direct`) against Synapse: each user's DM is a scene of its own,
/// answered only by `dm_personas`, and the user picks among them.
@Suite(.serialized) struct MatrixDirectSceneTests {
    @Test func directRoomsComeFromMDirectAndOnlyTheirUserIsDirect() throws {
        let body = #"""
            {"next_batch":"s2","account_data":{"events":[{"type":"m.direct","content":{"@alice:hs":["!dm:hs"],"@bob:hs":"bad"}}]},
             "rooms":{"join":{"!dm:hs":{"timeline":{"events":[
               {"type":"m.room.message","event_id":"$1","sender":"@alice:hs","origin_server_ts":1000,"content":{"msgtype":"m.text","body":"hi"}},
               {"type":"m.room.message","event_id":"$2","sender":"@carol:hs","origin_server_ts":1000,"content":{"msgtype":"m.text","body":"me too"}}]}}},
              "invite":{"!new:hs":{"invite_state":{"events":[
               {"type":"m.room.member","state_key":"@bot:hs","sender":"@bob:hs","content":{"membership":"invite","is_direct":true}}]}}}}}
            """#
        let sync = try MatrixSyncResponse.decode(Array(body.utf8))
        #expect(sync.direct == ["@alice:hs": ["!dm:hs"]], "malformed entries are skipped")
        #expect(sync.invited.first?.isDirect(for: "@bot:hs") == true && sync.invited.first?.inviter(of: "@bot:hs") == "@bob:hs")
        var rooms = MatrixRooms(ownUserID: "@bot:hs")
        let events = rooms.apply(sync, initial: false, nowMs: 2000)
        let messages = events.compactMap { event -> IncomingMessage? in if case .messageCreated(let m) = event { m } else { nil } }
        #expect(messages.map(\.channel.isDirect) == [true, false])
        #expect(messages.map(\.mentionsUs) == [true, false], "a DM is addressed to the bot")
        #expect(rooms.directRooms == ["!dm:hs": "@alice:hs"])
        let plain = try MatrixSyncResponse.decode(Array(#"{"next_batch":"s3"}"#.utf8))
        #expect(plain.direct == nil)
        _ = rooms.apply(plain, initial: false, nowMs: 2000)
        #expect(rooms.directRooms == ["!dm:hs": "@alice:hs"], "a batch without m.direct keeps what is known")
    }

    @Test func eachUsersDirectRoomIsItsOwnScene() async throws {
        let synapse = try await SharedSynapse.shared.get()
        let http = HTTPClient()
        let users = try await synapse.register(["bot", "alice", "bob"])
        let (bot, alice, bob) = (users["bot"]!, Human(users["alice"]!, synapse: synapse, http: http), Human(users["bob"]!, synapse: synapse, http: http))
        let store = try SQLiteStore.inMemory()
        let configuration = MatrixPlatformConfiguration(
            homeserverURL: synapse.url, userID: bot.userID, accessToken: nil, password: bot.password, deviceName: "test bot",
            inviteAllowlist: [alice.id, bob.id], maxEditsPerReply: 30, catchUpWindow: .seconds(600), syncTimeout: .seconds(5),
            initialEditBudget: EditBudget(burst: 3, interval: .milliseconds(1500)), retryInitialDelay: .milliseconds(200),
            retryMaxDelay: .seconds(2))
        let platform = MatrixPlatform(configuration: configuration, http: http, store: store, logger: Logger(label: "test.matrix"))
        let cleo = Persona(name: "cleo", displayName: "Cleo", character: "You are Cleo.")
        var routerConfiguration = RouterConfiguration(personas: [Bot.aria, Bot.bard, cleo])
        routerConfiguration.dmPersonas = ["matrix": ["bard", "aria"]]
        let model = AnsweringModel.personaAnswers()
        let router = Router(configuration: routerConfiguration, model: model, store: store, platforms: [platform],
                            logger: Logger(label: "test.router"))
        let running = Bot.launch(platform: platform, router: router)
        defer { running.task.cancel() }
        try await eventually("the bot's first sync") { platform.isReady || running.failure.get() != nil }

        func directRoom(_ human: Human) async throws -> String {
            let json = try await human.client.call(.post, "/createRoom", body: [
                "preset": "trusted_private_chat", "is_direct": true, "invite": .array([.string(bot.userID)]),
            ])
            let room = try #require(json["room_id"]?.string)
            try await eventually("the bot joins \(human.id)'s DM") { try await human.joinedMembers(room).contains(bot.userID) }
            return room
        }
        func said(_ text: String, in room: String, by human: Human) async throws -> Bool {
            try await human.messages(in: room).contains { $0.sender == bot.userID && ($0.content["body"]?.string ?? "").contains(text) }
        }
        let aliceRoom = try await directRoom(alice)
        let bobRoom = try await directRoom(bob)

        try await alice.say("My secret colour is blue.", in: aliceRoom)
        try await eventually("Bard answers alice") { model.requests.count >= 1 }
        try await bob.say("I like cheese.", in: bobRoom)
        try await eventually("the answer to bob") { model.requests.count >= 2 }
        let toBob = model.requests[1].messages
        #expect(toBob.first?.name == "Bard", "the first dm_persona by default")
        let bobText = toBob.map(\.content).joined(separator: "\n")
        #expect(bobText.contains("I like cheese.") && !bobText.contains("blue"))

        try await alice.say("!pb persona set cleo", in: aliceRoom)
        try await eventually("the refusal") { try await said("you can talk to: bard, aria", in: aliceRoom, by: alice) }
        try await alice.say("!pb persona set aria", in: aliceRoom)
        try await eventually("the pick") { try await said("Aria now answers here.", in: aliceRoom, by: alice) }
        try await alice.say("What is my secret colour?", in: aliceRoom)
        try await eventually("Aria answers alice") { model.requests.count >= 3 }
        let toAlice = model.requests[2].messages
        #expect(toAlice.first?.name == "Aria")
        let aliceText = toAlice.map(\.content).joined(separator: "\n")
        #expect(aliceText.contains("My secret colour is blue.") && !aliceText.contains("cheese"))

        // The same room, were bob invited into it, is no DM scene for him: he gets no DM persona there.
        let ordinary = try await alice.createRoom(name: "Not a DM", invite: [bot.userID])
        try await eventually("the bot joins the ordinary room") { try await alice.joinedMembers(ordinary).contains(bot.userID) }
        try await alice.say("Hello there, bot?", in: ordinary)
        // The recorded event: the message is in the bot's history (so the router decided on it), then one settle.
        try await eventually("the message recorded") {
            try await store.recentMessages(in: ChannelKey(platform: "matrix", channelID: ordinary), limit: 5)
                .contains { $0.text.contains("Hello there, bot?") }
        }
        try await settle()
        #expect(model.requests.count == 3, "a room without is_direct has no DM persona (and no binding here)")
        await running.stop()
    }
}

import BridgeCore
import Foundation
import HTTPTransport
import Logging
import ModelClient
import PBTestSupport
@testable import PlatformMatrix
import Storage
import Testing

/// End to end against a real Synapse: a human client invites and talks, the bot answers through the Router
/// and the fake model server.
@Suite(.serialized) struct MatrixSynapseTests {
    @Test func inviteJoinAndStreamedReplyReadsBackComplete() async throws {
        let scene = try await Scenario.start(humans: ["alice", "eve"])
        let (alice, eve, botID, room) = (scene.alice, scene.humans["eve"]!, scene.botID, scene.room)
        let unwanted = try await eve.createRoom(name: "Not allowed", invite: [botID])

        let tokens = (1...40).map { "word\($0) " }
        try await scene.script(tokens: tokens, interval: 0.03)
        let trigger = try await alice.say("Aria, tell me a story", in: room)
        let original = try await scene.firstReply()
        #expect(original.inReplyTo == trigger)
        try await scene.waitUntilShown(original, tokens.joined())
        let edits = try await scene.edits(of: original)
        #expect(!edits.isEmpty)
        for edit in edits {
            #expect(edit.content["body"]?.string?.hasPrefix("* ") == true)
            #expect(edit.content["m.new_content"]?["body"]?.string != nil)
            #expect(edit.content["m.new_content"]?["m.relates_to"] == nil)
        }
        #expect(try await scene.botMessages().count == 1)

        // The reply's history row is completed when the reply job ends, which may be just after its last edit shows.
        let history = try await eventuallyValue("the reply complete in history") { () -> [StoredMessage]? in
            let rows = try await scene.store.recentMessages(in: ChannelKey(platform: "matrix", channelID: room), limit: 10, after: nil)
            return rows.last?.text == tokens.joined() ? rows : nil
        }
        // Synapse's default display name is the localpart: read from member state, not the user ID.
        #expect(history.first?.speakerName == String(alice.id.dropFirst().prefix { $0 != ":" }))
        #expect(history.first?.text == "Aria, tell me a story")
        #expect(scene.bot.platform.sendAttempts.allSatisfy { $0.succeeded })

        try await eventually("eve's invite is declined") { !(try await eve.joinedMembers(unwanted).contains(botID)) }
        let state = try await eve.client.call(.get, "/rooms/\(MatrixClient.segment(unwanted))/state/m.room.member/\(MatrixClient.segment(botID))")
        #expect(state["membership"]?.string == "leave")
        await scene.finish()
    }

    @Test func incomingEditsAndRedactionsUpdateHistory() async throws {
        let scene = try await Scenario.start(fixedReply: "unused")
        let (alice, room) = (scene.alice, scene.room)
        let first = try await alice.say("first draft", in: room)
        let second = try await alice.say("to be removed", in: room)
        try await alice.client.send(room, txnID: UUID().uuidString, content: [
            "msgtype": "m.text", "body": "* final wording",
            "m.new_content": ["msgtype": "m.text", "body": "final wording"],
            "m.relates_to": ["rel_type": "m.replace", "event_id": .string(first)],
        ])
        try await alice.client.call(.put, "/rooms/\(MatrixClient.segment(room))/redact/\(MatrixClient.segment(second))/\(UUID().uuidString)",
                                    body: ["reason": "oops"])
        try await alice.client.send(room, txnID: UUID().uuidString, content: ["msgtype": "m.notice", "body": "a notice"])
        try await alice.client.send(room, txnID: UUID().uuidString, content: ["msgtype": "m.emote", "body": "waves"])
        let key = ChannelKey(platform: "matrix", channelID: room)
        try await eventually("history reflects the edit, the redaction and the emote; the notice is ignored") {
            let texts = try await scene.store.recentMessages(in: key, limit: 10, after: nil).map(\.text)
            return texts == ["final wording", "*waves*"]
        }
        await scene.finish()
    }

    @Test func restartNeitherReplaysNorLosesAndKeepsTheDevice() async throws {
        let synapse = try await SharedSynapse.shared.get()
        let http = HTTPClient()
        defer { http.shutdown() }
        let model = try await FakeModel.start(http: http)
        defer { model.stop() }
        let users = try await synapse.register(["bot", "alice"])
        let alice = Human(users["alice"]!, synapse: synapse, http: http)
        let botID = users["bot"]!.userID
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("pb-matrix-\(UUID().uuidString).sqlite").path
        defer { removeDatabaseFiles(atPath: path) }

        // Before the bot ever ran: the account is already in the room, with history it must not answer on its first start.
        let room = try await alice.createRoom(name: "Restart", invite: [botID])
        try await Human(users["bot"]!, synapse: synapse, http: http).join(room)
        let old = try await alice.say("Aria, this was said before you started", in: room)
        let store1 = try await SQLiteStore.open(.file(path: path), logger: Logger(label: "test.store"))
        let bot1 = try await Bot.start(synapse: synapse, account: users["bot"]!, store: store1, model: model.client(), http: http,
                                       allow: [alice.id])
        try await eventually("bot joined") { try await alice.joinedMembers(room).contains(botID) }
        let device1 = bot1.platform.deviceID
        let first = try await alice.say("Aria, first question", in: room)
        try await eventually("reply to the first question") {
            try await alice.messages(in: room).contains { $0.sender == botID && $0.inReplyTo == first }
        }
        await bot1.stop()
        try await store1.close()

        let whileDown = try await alice.say("Aria, are you there?", in: room)
        let store2 = try await SQLiteStore.open(.file(path: path), logger: Logger(label: "test.store"))
        let bot2 = try await Bot.start(synapse: synapse, account: users["bot"]!, store: store2, model: model.client(), http: http,
                                       allow: [alice.id])
        #expect(bot2.platform.deviceID == device1)
        try await eventually("the message sent while down is answered (catch-up window)") {
            try await alice.messages(in: room).contains { $0.sender == botID && $0.inReplyTo == whileDown }
        }
        let check = try await alice.say("Aria, and now?", in: room)
        try await eventually("a new message is answered") {
            try await alice.messages(in: room).contains { $0.sender == botID && $0.inReplyTo == check }
        }
        let replies = try await alice.messages(in: room).filter { $0.sender == botID && $0.replaces == nil }
        #expect(replies.filter { $0.inReplyTo == first }.count == 1)
        #expect(replies.filter { $0.inReplyTo == whileDown }.count == 1)
        #expect(replies.count == 3)
        #expect(!replies.contains { $0.inReplyTo == old })
        let devices = try await MatrixClient(homeserver: synapse.url, http: http, accessToken: bot2.platform.client.accessToken,
                                             logger: Logger(label: "test")).call(.get, "/devices")
        // The registration made one device; every bot run shares one more.
        let botDevices = devices["devices"]?.array?.filter { $0["display_name"]?.string == "test bot" } ?? []
        #expect(botDevices.count == 1)
        #expect(botDevices.first?["device_id"]?.string == device1)
        await bot2.stop()
        try await store2.close()
    }

    @Test func retriedSendWithTheSameTxnIDGivesOneEvent() async throws {
        let scene = try await Scenario.start(fixedReply: "unused")
        let (alice, room, platform) = (scene.alice, scene.room, scene.bot.platform)
        let trigger = try await alice.say("hello", in: room)

        // The first PUT reaches Synapse but its answer is lost, as after a timeout; the retry reuses the txnId.
        platform.client.dropResponsesOfNextSends(1)
        let sent = try await platform.send("exactly once", in: ChannelRef(platform: "matrix", channelID: room), replyTo: trigger, as: nil)
        let attempts = platform.sendAttempts
        #expect(attempts.count == 2)
        #expect(Set(attempts.map(\.txnID)).count == 1)
        #expect(attempts.first?.succeeded == false)
        try await eventually("the event is visible") { try await scene.botMessages().contains { $0.eventID == sent.messageID } }
        let copies = try await scene.botMessages().filter { $0.content["body"]?.string == "exactly once" }
        #expect(copies.count == 1)
        #expect(copies.first?.eventID == sent.messageID)
        await scene.finish()
    }

    @Test func onlyModeratorsAndCreatorsChangeThePersona() async throws {
        let synapse = try await SharedSynapse.shared.get()
        let http = HTTPClient()
        defer { http.shutdown() }
        let users = try await synapse.register(["bot", "owner", "mod", "low"])
        let owner = Human(users["owner"]!, synapse: synapse, http: http)
        let mod = Human(users["mod"]!, synapse: synapse, http: http)
        let low = Human(users["low"]!, synapse: synapse, http: http)
        let botID = users["bot"]!.userID
        let store = try SQLiteStore.inMemory()
        let bot = try await Bot.start(synapse: synapse, account: users["bot"]!, store: store, model: FixedModel(text: "hi"),
                                      http: http, allow: [owner.id])
        let room = try await owner.createRoom(name: "Council", invite: [botID, mod.id, low.id], powerLevelUsers: [mod.id: 50])
        try await mod.join(room)
        try await low.join(room)
        try await eventually("bot joined") { try await owner.joinedMembers(room).contains(botID) }
        let key = ChannelKey(platform: "matrix", channelID: room)

        let refused = try await low.say("!pb persona set bard", in: room)
        try await eventually("the refusal") {
            try await owner.messages(in: room).contains {
                $0.sender == botID && $0.inReplyTo == refused && ($0.content["body"]?.string ?? "").contains("only moderators")
            }
        }
        let unchanged = try await store.channelSettings(for: key)?.personas
        #expect(unchanged == nil)

        try await mod.say("!pb persona set bard", in: room)
        try await eventually("the power-50 user changes it") { try await store.channelSettings(for: key)?.personas == ["bard"] }

        try await owner.say("!pb persona set aria", in: room)
        try await eventually("the room creator changes it") { try await store.channelSettings(for: key)?.personas == ["aria"] }
        let channel = ChannelRef(platform: "matrix", channelID: room)
        #expect(await bot.platform.isModerator(ChatUser(id: owner.id, displayName: "owner"), in: channel))
        #expect(await bot.platform.isModerator(ChatUser(id: mod.id, displayName: "mod"), in: channel))
        #expect(!(await bot.platform.isModerator(ChatUser(id: low.id, displayName: "low"), in: channel)))
        await bot.stop()
    }

    @Test func hostileModelOutputIsSanitisedInFormattedBody() async throws {
        let scene = try await Scenario.start()
        let tokens = ["**Welcome** ", "<script>alert('x')</script> ", "<img src=http://evil.example/p.png> ",
                      "[click me](javascript:alert(1)) ", "<a href=\"javascript:void(0)\">raw</a> ", "[safe](https://example.org)"]
        try await scene.script(tokens: tokens, interval: 0.05)
        try await scene.alice.say("Aria, show me", in: scene.room)
        let final = try await scene.waitUntilShown(try await scene.firstReply(), tokens.joined())
        let events = try await scene.alice.messages(in: scene.room).filter { $0.sender == scene.botID }
        var htmls = events.compactMap { $0.content["formatted_body"]?.string }
        htmls += events.compactMap { $0.content["m.new_content"]?["formatted_body"]?.string }
        #expect(!htmls.isEmpty)
        for html in htmls {
            #expect(Set(tags(in: html)).isSubset(of: MatrixMarkdown.emittedTags), "\(html)")
            #expect(!html.contains("<script"))
            #expect(!html.contains("<img"))
            for href in hrefs(in: html) { #expect(href.hasPrefix("https://"), "\(href)") }
        }
        #expect(final["formatted_body"]?.string?.contains("<strong>Welcome</strong>") == true, "\(final)")
        #expect(final["format"]?.string == "org.matrix.custom.html")
        await scene.finish()
    }

    @Test func editCapAndTypingOnARealServer() async throws {
        let scene = try await Scenario.start(maxEdits: 3, budget: EditBudget(burst: 20, interval: .milliseconds(50)))
        let (alice, room, botID) = (scene.alice, scene.room, scene.botID)
        await scene.bot.platform.typing(in: ChannelRef(platform: "matrix", channelID: room))
        let filter = #"{"room":{"rooms":["\#(room)"],"timeline":{"limit":0},"state":{"types":[]}}}"#
        let sync = try await alice.client.call(.get, "/sync", query: [("filter", filter), ("timeout", "0")])
        let typing = sync["rooms"]?["join"]?[room]?["ephemeral"]?["events"]?.array?.first { $0["type"]?.string == "m.typing" }
        #expect(typing?["content"]?["user_ids"]?.array?.contains(.string(botID)) == true, "\(String(describing: typing))")

        let tokens = (1...60).map { "t\($0) " }
        try await scene.script(tokens: tokens, interval: 0.03)
        try await alice.say("Aria, go on", in: room)
        let original = try await scene.firstReply()
        try await scene.waitUntilShown(original, tokens.joined())
        let edits = try await scene.edits(of: original)
        #expect(edits.count <= 3)
        #expect(edits.last?.content["m.new_content"]?["body"]?.string == tokens.joined())
        await scene.finish()
    }

    @Test func unknownTokenStopsTheAdapterWithAClearError() async throws {
        let synapse = try await SharedSynapse.shared.get()
        let http = HTTPClient()
        defer { http.shutdown() }
        let users = try await synapse.register(["bot"])
        let configuration = MatrixPlatformConfiguration(homeserverURL: synapse.url, userID: users["bot"]!.userID,
                                                        accessToken: "syt_not_a_real_token")
        let platform = MatrixPlatform(configuration: configuration, http: http, store: try SQLiteStore.inMemory(),
                                      logger: Logger(label: "test"))
        await #expect {
            try await platform.run()
        } throws: { error in
            (error as? MatrixError)?.code == .unknownToken
        }

        // A token revoked while syncing stops the running adapter too.
        let store = try SQLiteStore.inMemory()
        let bot = try await Bot.start(synapse: synapse, account: users["bot"]!, store: store, model: FixedModel(text: "x"),
                                      http: http, allow: [])
        try await bot.platform.client.call(.post, "/logout", body: [:])
        try await eventually("the adapter stops") { bot.failure.get() != nil }
        let error = bot.failure.get() as? MatrixError
        #expect(error?.code == .unknownToken)
        #expect(error?.message.contains("M_UNKNOWN_TOKEN") == true)
        await bot.stop()
    }
}

/// A model that answers with fixed text.
struct FixedModel: ChatModel {
    let text: String
    func stream(_ request: ChatRequest) -> AsyncThrowingStream<ModelEvent, Error> {
        AsyncThrowingStream { continuation in
            continuation.yield(.delta(text))
            continuation.yield(.finish(.stop))
            continuation.finish()
        }
    }
}

/// Reply controls as reactions on a real Synapse.
@Suite(.serialized) struct MatrixControlSynapseTests {
    @Test func aRegenerateReactionRegeneratesAndShowsTheCounter() async throws {
        let scene = try await Scenario.start(humans: ["alice"])
        let (alice, room) = (scene.alice, scene.room)
        try await scene.model!.script([["text": "the first take"], ["text": "the second take"]])
        _ = try await alice.say("Aria, pick a card", in: room)
        let original = try await scene.firstReply()
        try await scene.waitUntilShown(original, "the first take")
        let key = ChannelKey(platform: "matrix", channelID: room)
        try await eventually("the first reply recorded") {
            try await scene.store.lastReply(in: key, persona: nil)?.replyID == original.eventID
        }
        try await alice.client.send(room, txnID: UUID().uuidString, content: [
            "m.relates_to": ["rel_type": "m.annotation", "event_id": .string(original.eventID!), "key": "🔁"],
        ], type: "m.reaction")
        let regenerated = try await eventuallyValue("the regenerated reply") { () async throws -> MatrixEvent? in
            try await scene.botMessages().first { $0.eventID != original.eventID }
        }
        try await scene.waitUntilShown(regenerated, "the second take\n\n‹ 2/2 ›")
        try await scene.waitUntilShown(original, "(replaced by a new reply)")
        try await eventually("history holds the second take") {
            try await scene.store.recentMessages(in: key, limit: 10, after: nil).map(\.text) == ["Aria, pick a card", "the second take"]
        }
        #expect(try await scene.store.replyAlternatives(in: key, replyID: regenerated.eventID!)?.texts
            == ["the first take", "the second take"])

        // The room's creator is a moderator: `why` answers with a notice and the prompt as an uploaded m.file.
        _ = try await alice.say("!pb why", in: room)
        let file = try await eventuallyValue("the prompt file") { () async throws -> MatrixEvent? in
            try await scene.botMessages().first { $0.content["msgtype"]?.string == "m.file" }
        }
        #expect(file.content["body"]?.string == "prompt.json")
        let notice = try await scene.botMessages().first { $0.content["msgtype"]?.string == "m.notice" }
        #expect(notice?.content["body"]?.string?.hasPrefix("Prompt of the last reply (aria)") == true)
        let uri = try #require(file.content["url"]?.string)
        let path = String(uri.dropFirst("mxc://".count))
        let bytes = try await alice.client.raw(.get, "/_matrix/client/v1/media/download/\(path)")
        let view = try #require(PromptView.decode(String(decoding: bytes, as: UTF8.self)))
        #expect(view.messages.last?.content.contains("Aria, pick a card") == true)
        #expect(view.replyID == regenerated.eventID)
        await scene.finish()
    }
}

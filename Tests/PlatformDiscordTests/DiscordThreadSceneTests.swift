import BridgeConfig
import BridgeCore
import Foundation
import ModelClient
import PBTestSupport
import Storage
import Synchronization
import Testing
@testable import PlatformDiscord

/// A model that records every request; scene replies say who spoke, summary requests (their user turn is the
/// "Transcript") get a fixed summary naming the last line summarised.
final class RecordingModel: ChatModel, Sendable {
    private let recorded = Mutex<[ChatRequest]>([])
    private let inner = TimedModel(pieces: 2, interval: .milliseconds(20)) { request in
        if let transcript = request.messages.last, transcript.name == "Transcript" {
            return "SUMMARY of \(transcript.content.split(separator: "\n").last ?? "")"
        }
        return "\(request.messages.first?.name ?? "?") answers."
    }

    var requests: [ChatRequest] { recorded.withLock { $0 } }
    /// The requests for replies (not memory summaries).
    var replies: [ChatRequest] { requests.filter { $0.messages.last?.name != "Transcript" } }
    /// The memory summary requests.
    var summaries: [ChatRequest] { requests.filter { $0.messages.last?.name == "Transcript" } }

    func stream(_ request: ChatRequest) -> AsyncThrowingStream<ModelEvent, Error> {
        recorded.withLock { $0.append(request) }
        return inner.stream(request)
    }
}

/// Threads and DMs as scenes on the fake Discord: a thread answers with its parent's persona but keeps its own
/// history, `/scene start` opens a thread and `!pb scene end` archives it with its summary kept, and each user's DM
/// is a scene of its own among `dm_personas`.
@Suite(.serialized) struct DiscordThreadSceneTests {
    static let cleo = Persona(name: "cleo", displayName: "Cleo", character: "Cleo is a sly thief.")

    static func text(of request: ChatRequest) -> String { request.messages.map(\.content).joined(separator: "\n") }

    /// Gives the bot's role what starting and closing threads takes (the default world leaves it out).
    static func allowThreads(_ fake: FakeDiscord) async throws {
        let bits = (1 << 29) | (1 << 13) | (1 << 34) | (1 << 35)  // webhooks, messages, MANAGE_THREADS, CREATE_PUBLIC_THREADS
        _ = try await fake.post("guild", ["roles": [["id": "900000000000000202", "permissions": bits]]])
    }

    @Test func sceneSlashCommandsAndThreadEventsDecode() throws {
        func interaction(_ json: String) throws -> DiscordInteraction {
            try JSONDecoder().decode(DiscordInteraction.self, from: Data(json.utf8))
        }
        let start = try interaction(#"{"id":"1","token":"t","type":2,"data":{"name":"scene","options":[{"type":1,"name":"start","options":[{"type":3,"name":"title","value":"  The heist  "},{"type":3,"name":"personas","value":"aria, bolt"}]}]}}"#)
        #expect(try start.bridgeCommand.get() == .scene(.start(title: "The heist", personas: ["aria", "bolt"])))
        let end = try interaction(#"{"id":"1","token":"t","type":2,"data":{"name":"scene","options":[{"type":1,"name":"end"}]}}"#)
        #expect(try end.bridgeCommand.get() == .scene(.end))
        let blank = try interaction(#"{"id":"1","token":"t","type":2,"data":{"name":"scene","options":[{"type":1,"name":"start","options":[{"type":3,"name":"title","value":" "}]}]}}"#)
        #expect((try? blank.bridgeCommand.get()) == nil)
        #expect(String(decoding: DiscordMessageBuilder.startThread(name: "x"), as: UTF8.self) == #"{"auto_archive_duration":1440,"name":"x","type":11}"#)
        #expect(String(decoding: DiscordMessageBuilder.archiveThread(), as: UTF8.self) == #"{"archived":true,"locked":true}"#)

        let sync = try GatewayPayload.decode(Array(#"{"op":0,"s":3,"t":"THREAD_LIST_SYNC","d":{"guild_id":"9","threads":[{"id":"5","type":11,"parent_id":"4"},{"bad":1}],"members":[]}}"#.utf8))
        guard case .threadListSync(let list) = sync.event else { Issue.record("\(sync.event)"); return }
        #expect(list.guildId == "9" && list.threads.map(\.id) == ["5"] && list.threads.first?.parentId == "4")
        let gone = try GatewayPayload.decode(Array(#"{"op":0,"s":4,"t":"THREAD_DELETE","d":{"id":"5","type":11,"guild_id":"9","parent_id":"4"}}"#.utf8))
        guard case .threadDelete(let thread) = gone.event else { Issue.record("\(gone.event)"); return }
        #expect(thread.id == "5")
    }

    @Test func threadAnswersWithItsParentsPersonaAndKeepsItsOwnHistory() async throws {
        let fake = try await FakeDiscord.start()
        defer { fake.stop() }
        let model = RecordingModel()
        // The default persona (aria) would answer an unbound channel: the thread must take its parent's (bolt).
        let bindings = [RouterConfiguration.Binding(platform: "discord", channelID: World.general, personas: ["bolt"],
                                                    trigger: TriggerOverrides(cooldownSeconds: 0))]
        let bridge = try await DiscordBridge(fake: fake, model: model, bindings: bindings)
        try await bridge.waitReady()

        try await fake.inject("In the hall: the dragon sleeps.")
        try await eventually("the parent's reply") { model.replies.count >= 1 }
        try await bridge.waitIdle()
        try await fake.inject("In the side quest: the key is under the mat.", channel: World.thread)
        try await eventually("the thread's reply") { try await fake.botMessages(in: World.thread).count >= 1 }
        try await bridge.waitIdle()
        try await fake.inject("Back in the hall: any news?")
        try await eventually("the parent's second reply") { model.replies.count >= 3 }
        try await bridge.waitIdle()
        await bridge.stop()

        let (parent, thread, parentAgain) = (model.replies[0], model.replies[1], model.replies[2])
        #expect(thread.messages.first?.name == "Bolt", "the thread answers with the parent's persona")
        #expect(Self.text(of: thread).contains("Bolt is a grumpy smith."))
        #expect(Self.text(of: thread).contains("the key is under the mat"))
        #expect(!Self.text(of: thread).contains("the dragon sleeps"), "the parent's messages are not in the thread's request")
        #expect(Self.text(of: parent).contains("the dragon sleeps"))
        #expect(!Self.text(of: parentAgain).contains("the key is under the mat"), "nor the thread's in the parent's")
        #expect(Self.text(of: parentAgain).contains("the dragon sleeps"))
        // Bolt has an avatar: the reply goes through the parent's webhook into the thread.
        let reply = try #require(try await fake.botMessages(in: World.thread).first)
        #expect(reply["author"]["username"].string == "Bolt" && !reply["webhook_id"].isNull)
        let threadKey = ChannelKey(platform: "discord", serverID: World.guild, channelID: World.thread)
        let generalKey = ChannelKey(platform: "discord", serverID: World.guild, channelID: World.general)
        #expect(try await bridge.store.recentMessages(in: threadKey, limit: 10).contains { $0.text.contains("under the mat") })
        #expect(!(try await bridge.store.recentMessages(in: generalKey, limit: 10).contains { $0.text.contains("under the mat") }))
    }

    @Test func sceneStartOpensAThreadAndSceneEndArchivesItWithItsSummary() async throws {
        let fake = try await FakeDiscord.start()
        defer { fake.stop() }
        try await Self.allowThreads(fake)
        let model = RecordingModel()
        let bindings = [RouterConfiguration.Binding(platform: "discord", channelID: World.general, personas: ["aria"],
                                                    trigger: TriggerOverrides(cooldownSeconds: 0))]
        let bridge = try await DiscordBridge(fake: fake, model: model, personas: [DiscordBridge.aria, DiscordBridge.bolt, Self.cleo],
                                             bindings: bindings)
        try await bridge.waitReady()

        // A player may not open a scene.
        let refused = try await fake.post("inject/interaction", ["name": "scene", "user_id": World.alice, "options": [
            ["type": 1, "name": "start", "options": [["type": 3, "name": "title", "value": "Nope"]]]]])
        let refusedID = refused["id"].string ?? ""
        let title = String(repeating: "The midnight heist ", count: 8)  // 152 characters: cut to Discord's 100
        _ = try await fake.post("inject/interaction", ["name": "scene", "user_id": World.moderator, "options": [
            ["type": 1, "name": "start", "options": [["type": 3, "name": "title", "value": title],
                                                     ["type": 3, "name": "personas", "value": "cleo bolt"]]]]])
        let thread = try await eventuallyValue("the scene's thread") { () -> JSON? in
            try await fake.get("state")["guilds"][World.guild]["threads"].array.first { $0["parent_id"].string == World.general
                && $0["id"].string != World.thread }
        }
        let threadID = try #require(thread["id"].string)
        #expect(thread["name"].string == String(title.prefix(100)).trimmingCharacters(in: .whitespaces))
        #expect(thread["type"].int == 11)
        let created = try await fake.get("requests").array.first { $0["route"].string == "/channels/\(World.general)/threads" }
        #expect(created?["body"]["type"].int == 11 && created?["status"].int == 201)
        try await eventually("both interactions answered") {
            try await fake.get("interactions").array.allSatisfy { !$0["_callback"].isNull }
        }
        let answers = try await fake.get("interactions").array
        let refusal = answers.first { $0["id"].string == refusedID }
        #expect(refusal?["_callback"]["data"]["content"].string?.contains("only moderators") == true)
        let opened = answers.first { $0["id"].string != refusedID }
        let openedText = opened?["_callback"]["data"]["content"].string ?? opened?["_original"]["content"].string ?? ""
        #expect(openedText.contains("opened in its own thread with Cleo, Bolt"), "\(openedText)")

        // The thread's scene has the cast asked for, not the parent's Aria.
        try await fake.inject("Cleo, the vault opens at midnight.", channel: threadID)
        try await eventually("Cleo's reply in the thread") { try await fake.botMessages(in: threadID).count >= 1 }
        try await bridge.waitIdle()
        #expect(model.replies.last?.messages.first?.name == "Cleo")

        // A player cannot end it; a moderator can: the rest is summarised under the thread's key, then it is archived.
        try await fake.inject("!pb scene end", channel: threadID, mentionBot: false)
        try await eventually("the refusal") {
            try await fake.botMessages(in: threadID).contains { $0["content"].string?.contains("only moderators") == true }
        }
        try await fake.inject("!pb scene end", channel: threadID, author: World.moderator, mentionBot: false)
        try await eventually("the thread archived and locked") {
            let now = try await fake.get("state")["guilds"][World.guild]["threads"].array.first { $0["id"].string == threadID }
            return now?["thread_metadata"]["archived"].bool == true && now?["thread_metadata"]["locked"].bool == true
        }
        try await bridge.waitIdle()
        await bridge.stop()
        let closing = try await fake.botMessages(in: threadID).last?["content"].string ?? ""
        #expect(closing.contains("The scene is over") && closing.contains("a summary of the rest"), "\(closing)")
        let threadKey = ChannelKey(platform: "discord", serverID: World.guild, channelID: threadID)
        let memory = try await bridge.store.sceneMemory(in: threadKey)
        #expect(memory.summaries.count == 1)
        #expect(memory.summaries.first?.text.hasPrefix("SUMMARY of ") == true)
        let summaryRequest = try #require(model.summaries.last)
        #expect(Self.text(of: summaryRequest).contains("the vault opens at midnight"))
        let generalKey = ChannelKey(platform: "discord", serverID: World.guild, channelID: World.general)
        #expect(try await bridge.store.sceneMemory(in: generalKey).summaries.isEmpty)
        let patch = try await fake.get("requests").array.first { $0["method"].string == "PATCH" && $0["route"].string == "/channels/\(threadID)" }
        #expect(patch?["body"]["archived"].bool == true && patch?["body"]["locked"].bool == true && patch?["status"].int == 200)
    }

    /// `/scene end` as a slash command: its answer reaches Discord before the thread is archived and locked (a
    /// locked thread may refuse it), and the thread is still closed afterwards.
    @Test func sceneEndAsASlashCommandAnswersBeforeTheThreadIsLocked() async throws {
        let fake = try await FakeDiscord.start()
        defer { fake.stop() }
        try await Self.allowThreads(fake)
        let bindings = [RouterConfiguration.Binding(platform: "discord", channelID: World.general, personas: ["aria"],
                                                    trigger: TriggerOverrides(cooldownSeconds: 0))]
        let bridge = try await DiscordBridge(fake: fake, model: RecordingModel(), personas: [DiscordBridge.aria], bindings: bindings)
        try await bridge.waitReady()
        let ended = try await fake.post("inject/interaction", ["name": "scene", "user_id": World.moderator, "channel_id": World.thread,
                                                               "options": [["type": 1, "name": "end"]]])
        let interactionID = try #require(ended["id"].string)
        try await eventually("the thread archived and locked") {
            let now = try await fake.get("state")["guilds"][World.guild]["threads"].array.first { $0["id"].string == World.thread }
            return now?["thread_metadata"]["archived"].bool == true && now?["thread_metadata"]["locked"].bool == true
        }
        try await bridge.waitIdle()
        await bridge.stop()
        let answer = try await fake.get("interactions").array.first { $0["id"].string == interactionID }
        let text = answer?["_original"]["content"].string ?? answer?["_callback"]["data"]["content"].string ?? ""
        #expect(text.contains("The scene is over"), "\(answer ?? JSON(nil))")
        #expect(answer?["_late_callbacks"].int ?? 0 == 0)
        let requests = try await fake.get("requests").array
        let answered = requests.lastIndex { request in
            let route = request["route"].string ?? ""
            return route.contains("/interactions/\(interactionID)/") || (route.contains("/webhooks/") && route.hasSuffix("/messages/@original"))
        }
        let locked = requests.firstIndex { $0["method"].string == "PATCH" && $0["route"].string == "/channels/\(World.thread)" }
        let answeredAt = try #require(answered, "no answer to the interaction in \(requests.map { $0["route"].string ?? "" })")
        let lockedAt = try #require(locked, "the thread was never archived")
        #expect(answeredAt < lockedAt, "the answer was sent after the thread was locked")
        #expect(requests[answeredAt]["status"].int.map { $0 < 300 } == true)
    }

    @Test func eachUsersDMIsItsOwnSceneAmongDMPersonas() async throws {
        let fake = try await FakeDiscord.start()
        defer { fake.stop() }
        let model = RecordingModel()
        let bridge = try await DiscordBridge(fake: fake, model: model, personas: [DiscordBridge.aria, DiscordBridge.bolt, Self.cleo],
                                             dmPersonas: ["aria", "bolt"])
        try await bridge.waitReady()
        let aliceDM = "900000000000008801"
        let bobDM = "900000000000008802"
        func dm(_ text: String, _ channel: String, from author: String) async throws {
            _ = try await fake.post("inject/message", ["channel_id": channel, "content": text, "author_id": author, "dm": true])
        }

        try await dm("My secret colour is blue.", aliceDM, from: World.alice)
        try await eventually("Aria's DM reply to Alice") { try await fake.botMessages(in: aliceDM).count >= 1 }
        try await bridge.waitIdle()
        try await dm("I like cheese.", bobDM, from: World.bob)
        try await eventually("the DM reply to Bob") { try await fake.botMessages(in: bobDM).count >= 1 }
        try await bridge.waitIdle()
        let bobFirst = try #require(model.replies.last)
        #expect(bobFirst.messages.first?.name == "Aria", "the first dm_persona by default")
        #expect(Self.text(of: bobFirst).contains("I like cheese."))
        #expect(!Self.text(of: bobFirst).contains("blue"), "Bob's request holds only Bob's DM")

        // Alice picks among dm_personas herself (she is no moderator); Cleo is not one of them.
        try await dm("!pb persona set cleo", aliceDM, from: World.alice)
        try await eventually("the refusal") {
            try await fake.botMessages(in: aliceDM).contains { $0["content"].string?.contains("you can talk to: aria, bolt") == true }
        }
        _ = try await fake.post("inject/interaction", ["name": "persona", "user_id": World.alice, "channel_id": aliceDM, "dm": true,
                                                       "options": [["type": 1, "name": "set", "options": [
                                                           ["type": 3, "name": "name", "value": "bolt"]]]]])
        try await eventually("/persona set answered") {
            try await fake.get("interactions").array.contains {
                ($0["_callback"]["data"]["content"].string ?? $0["_original"]["content"].string)?.contains("Bolt now answers here") == true
            }
        }
        try await bridge.waitIdle()
        let before = model.replies.count
        try await dm("What is my secret colour?", aliceDM, from: World.alice)
        try await eventually("Bolt's reply to Alice") { model.replies.count > before }
        try await bridge.waitIdle()
        try await dm("Still about cheese.", bobDM, from: World.bob)
        try await eventually("the reply to Bob") { model.replies.count > before + 1 }
        try await bridge.waitIdle()
        await bridge.stop()

        let alice = model.replies[before]
        let bob = model.replies[before + 1]
        #expect(alice.messages.first?.name == "Bolt")
        #expect(Self.text(of: alice).contains("My secret colour is blue.") && !Self.text(of: alice).contains("cheese"))
        #expect(bob.messages.first?.name == "Aria", "Alice's pick is hers alone")
        #expect(Self.text(of: bob).contains("I like cheese.") && !Self.text(of: bob).contains("blue"))
        #expect(!model.replies.contains { $0.messages.first?.name == "Cleo" })
        // No webhook in a DM (Discord has none there): Bolt, who has an avatar, speaks plainly.
        let boltReply = try await fake.botMessages(in: aliceDM).first { $0["content"].string == "Bolt answers." }
        #expect(boltReply?["author"]["id"].string == World.bot && boltReply?["webhook_id"].isNull == true)
        #expect(try await !fake.get("requests").array.contains { $0["route"].string == "/channels/\(aliceDM)/webhooks" })
    }
}

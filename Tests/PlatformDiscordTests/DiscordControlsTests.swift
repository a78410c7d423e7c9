import BridgeConfig
@testable import BridgeCore
import Foundation
import HTTPTransport
import Logging
import ModelClient
import PBTestSupport
@testable import PlatformDiscord
import Storage
import Synchronization
import Testing

/// The prompt view and the reply buttons against the fake Discord, with the real model client and the fake model.
@Suite(.serialized) struct DiscordControlsTests {
    /// A model session on the fake model server.
    static func modelSession(port: Int, http: HTTPClient) -> ModelSession {
        ModelSession(configuration: ModelClientConfiguration(provider: .openrouter, baseURL: "http://127.0.0.1:\(port)/api/v1",
                                                             model: "minimax/minimax-m2-her", apiKey: APIKey("sk-test-secret"),
                                                             maxAttempts: 1),
                     httpClient: http, logger: Logger(label: "test"))
    }

    static func modelRequests(port: Int, http: HTTPClient) async throws -> JSON {
        let response = try await http.execute(HTTPRequest(url: "http://127.0.0.1:\(port)/_control/requests"))
        return JSON(try JSONSerialization.jsonObject(with: Data(try await response.body.collect(upTo: 16 << 20))))
    }

    @Test func whyReturnsTheExactRequestTheModelReceivedWithItsTokenCounts() async throws {
        let fake = try await FakeDiscord.start()
        defer { fake.stop() }
        let (model, modelPort) = try await startPythonServer("model_server.py")
        defer { model.stop() }
        let http = HTTPClient()
        defer { http.shutdown() }
        let bridge = try await DiscordBridge(fake: fake, model: Self.modelSession(port: modelPort, http: http))
        try await bridge.waitReady()
        try await eventually("commands registered") { try await fake.counter("command_puts") >= 1 }
        let usage = #"<<fake {"text": "Well met, traveller.", "usage": {"prompt_tokens": 321, "completion_tokens": 4, "cached_tokens": 120}}>>"#
        try await fake.inject("hello Aria " + usage)
        try await eventually("Aria's reply") {
            try await fake.botMessages(in: World.general).contains { $0["content"].string == "Well met, traveller." }
        }
        try await bridge.waitIdle()

        // A player may not see the prompt.
        let refused = try await fake.post("inject/interaction", ["name": "why", "user_id": World.alice])
        let refusal = try await DiscordFeatureTests.answer(fake, refused["id"].string ?? "")
        #expect(refusal.ephemeral && refusal.content.contains("only moderators"), "\(refusal)")

        let asked = try await fake.post("inject/interaction", ["name": "why", "user_id": World.moderator])
        let id = asked["id"].string ?? ""
        let answer = try await DiscordFeatureTests.answer(fake, id)
        #expect(answer.ephemeral)
        #expect(answer.content.contains("prompt 321 · completion 4 · cached 120 tokens"), "\(answer.content)")
        let callback = try await fake.get("interactions").array.first { $0["id"].string == id }?["_callback"]
        let file = try #require(callback?["data"]["_files"][0])
        #expect(file["filename"].string == "prompt.json")
        #expect(callback?["data"]["allowed_mentions"]["parse"].array.isEmpty == true)
        let document = try #require(file["text"].string)
        let view = try #require(PromptView.decode(document))
        #expect(!document.contains("sk-test-secret"), "secrets are never stored")

        let received = try await Self.modelRequests(port: modelPort, http: http).array.last?["body"]["messages"].array ?? []
        #expect(received.count == view.messages.count)
        for (sent, shown) in zip(received, view.messages) {
            #expect(sent["role"].string == shown.role)
            #expect(sent["content"].string == shown.content)
            #expect(sent["name"].string == shown.name)
            #expect(shown.tokens > 0)
        }
        #expect(view.usage.promptTokens == 321 && view.usage.completionTokens == 4 && view.usage.cachedTokens == 120)
        #expect(view.usage.reported)
        #expect(view.usage.timeToFirstTokenMs != nil && view.usage.totalMs >= (view.usage.timeToFirstTokenMs ?? 0))
        #expect(view.parameters.model == "minimax/minimax-m2-her")
        await bridge.stop()
    }

    @Test func buttonsFollowTheLatestReplyAndAStrangersPressIsRefused() async throws {
        let fake = try await FakeDiscord.start()
        defer { fake.stop() }
        let counter = Counter()
        let bridge = try await DiscordBridge(fake: fake, model: TimedModel(pieces: 2, interval: .milliseconds(20)) { _ in
            "take \(counter.next())"
        })
        try await bridge.waitReady()
        try await fake.inject("Aria, pick a number", author: World.alice)
        func reply(_ text: String) async throws -> JSON {
            try await eventuallyValue("a reply \(text) with buttons") { () async throws -> JSON? in
                try await fake.botMessages(in: World.general).first {
                    $0["content"].string == text
                        && $0["components"][0]["components"].array.contains { $0["custom_id"].string == "pb:regenerate" }
                }
            }
        }
        let first = try await reply("take 1")
        let firstID = first["id"].string ?? ""
        let labels = first["components"][0]["components"].array.compactMap { $0["custom_id"].string }
        #expect(labels == ["pb:regenerate", "pb:continue"])

        try await bridge.waitIdle()

        // Bob did not ask for this reply and is no moderator: an ephemeral refusal, nothing regenerated.
        let press = try await fake.post("inject/interaction", ["type": 3, "message_id": firstID, "custom_id": "pb:regenerate",
                                                                "user_id": World.bob])
        let pressID = press["id"].string ?? ""
        let followup = try await eventuallyValue("the refusal") { () async throws -> JSON? in
            let interaction = try await fake.get("interactions").array.first { $0["id"].string == pressID }
            guard interaction?["_callback"]["type"].int == 6, let id = interaction?["_followups"][0].string else { return nil }
            return try await fake.get("messages/\(id)")
        }
        #expect((followup["flags"].int ?? 0) & 64 != 0, "the refusal is ephemeral")
        #expect(followup["content"].string?.contains("only the player who asked") == true, "\(followup["content"])")
        try await bridge.waitIdle()
        #expect(counter.peek == 1, "nothing was regenerated")

        // Alice asked for it: her press regenerates; the old reply loses its buttons, the new one shows 2/2.
        let accepted = try await fake.post("inject/interaction", ["type": 3, "message_id": firstID, "custom_id": "pb:regenerate",
                                                                   "user_id": World.alice])
        let second = try await reply("take 2")
        try await eventually("the counter") {
            let message = try await fake.get("messages/\(second["id"].string ?? "")")
            return message["components"][0]["components"].array.compactMap { $0["label"].string }.contains("2/2")
        }
        let old = try await fake.get("messages/\(firstID)")
        #expect(old["components"].array.isEmpty)
        #expect(old["content"].string == "(replaced by a new reply)")
        let acknowledged = try await fake.get("interactions").array.first { $0["id"].string == accepted["id"].string }
        #expect(acknowledged?["_callback"]["type"].int == 6)
        #expect((acknowledged?["_callback"]["elapsed_s"].double ?? 9) < 3)
        // Presses on the old reply's buttons no longer exist; ◀ flips back to the first take.
        try await bridge.waitIdle()
        _ = try await fake.post("inject/interaction", ["type": 3, "message_id": second["id"].string ?? "", "custom_id": "pb:prev",
                                                        "user_id": World.alice])
        try await eventually("the first take shown again") {
            try await fake.get("messages/\(second["id"].string ?? "")")["content"].string == "take 1"
        }
        let key = ChannelKey(platform: "discord", serverID: World.guild, channelID: World.general)
        try await eventually("history follows") {
            try await bridge.store.message(in: key, messageID: second["id"].string ?? "")?.text == "take 1"
        }
        // Every component edit kept allowed_mentions {"parse": []}.
        for request in try await fake.get("requests").array where request["method"].string == "PATCH" {
            #expect(request["body"]["allowed_mentions"]["parse"].array.isEmpty && !request["body"]["allowed_mentions"]["parse"].isNull,
                    "\(request["route"])")
        }
        await bridge.stop()
    }
}

/// Counts model requests.
final class Counter: Sendable {
    private let value = Mutex(0)
    /// The next count (1 for the first call).
    func next() -> Int { value.withLock { $0 += 1; return $0 } }
    /// The count so far.
    var peek: Int { value.withLock { $0 } }
}

/// Reaction controls on Discord (`controls = "reactions"`).
@Suite(.serialized) struct DiscordReactionControlsTests {
    static func reaction(_ emoji: String, on message: String, by user: String) -> [String: Any] {
        ["t": "MESSAGE_REACTION_ADD", "guild_id": World.guild,
         "d": ["user_id": user, "channel_id": World.general, "message_id": message, "guild_id": World.guild,
               "emoji": ["id": NSNull(), "name": emoji], "member": ["roles": [], "user": ["id": user, "username": "u" + user.suffix(3)]]]]
    }

    @Test func aRegenerateReactionRegeneratesAndAStrangersOrTheBotsAreIgnored() async throws {
        let fake = try await FakeDiscord.start()
        defer { fake.stop() }
        let counter = Counter()
        let bridge = try await DiscordBridge(fake: fake, model: TimedModel(pieces: 2, interval: .milliseconds(20)) { _ in
            "take \(counter.next())"
        }) { $0.controls = .reactions }
        try await bridge.waitReady()
        try await fake.inject("Aria, pick a number", author: World.alice)
        let first = try await eventuallyValue("the first reply") { () async throws -> JSON? in
            try await fake.botMessages(in: World.general).first { $0["content"].string == "take 1" }
        }
        let firstID = first["id"].string ?? ""
        #expect(first["components"].array.isEmpty, "no buttons in reaction mode")
        try await bridge.waitIdle()
        // Bob is neither the player who asked nor a moderator; the bot's own reaction is ignored.
        try await fake.post("inject/event", Self.reaction("🔁", on: firstID, by: World.bob))
        try await fake.post("inject/event", Self.reaction("🔁", on: firstID, by: World.bot))
        try await fake.post("inject/event", Self.reaction("👍", on: firstID, by: World.alice))
        try await bridge.waitIdle()
        #expect(counter.peek == 1)
        try await fake.post("inject/event", Self.reaction("🔁", on: firstID, by: World.alice))
        try await eventually("the regenerated reply, with its counter in the text") {
            try await fake.botMessages(in: World.general).contains { $0["content"].string == "take 2\n\n‹ 2/2 ›" }
        }
        #expect(try await fake.get("messages/\(firstID)")["content"].string == "(replaced by a new reply)")
        await bridge.stop()
    }
}

import BridgeCore
import Foundation
import Logging
import ModelClient
import PBTestSupport
import Storage
import Synchronization
import Testing
@testable import PlatformDiscord

/// Character cards imported from a Discord attachment, against the fake Discord (which serves attachments like the
/// CDN), and their lore in the model requests.
@Suite(.serialized) struct DiscordCardImportTests {
    static let corpus = RepoPaths.root.appendingPathComponent("Tests/Corpus/cards")

    /// Uploads a corpus card to the fake's CDN; returns the attachment object for `inject/message`.
    static func attach(_ fake: FakeDiscord, _ file: String, as filename: String? = nil) async throws -> [String: Any] {
        let data = try Data(contentsOf: corpus.appendingPathComponent(file))
        let name = filename ?? (file as NSString).lastPathComponent
        let attachment = try await fake.post("attachments", ["filename": name, "content_b64": data.base64EncodedString(),
                                                             "content_type": name.hasSuffix(".png") ? "image/png" : "application/json"])
        return try #require(attachment.value as? [String: Any])
    }

    /// A model that records every request and answers with the speaking persona's name.
    final class RecordingModel: ChatModel, Sendable {
        let requests = Mutex<[ChatRequest]>([])
        let inner: TimedModel

        init() {
            inner = TimedModel(pieces: 2, interval: .milliseconds(20)) { request in "(\(request.messages.first?.name ?? "?") answers)" }
        }

        func stream(_ request: ChatRequest) -> AsyncThrowingStream<ModelEvent, Error> {
            requests.withLock { $0.append(request) }
            return inner.stream(request)
        }

        var recorded: [ChatRequest] { requests.withLock { $0 } }
    }

    static func botTexts(_ fake: FakeDiscord) async throws -> [String] {
        try await fake.botMessages(in: World.general).compactMap { $0["content"].string }
    }

    @Test func moderatorImportsAPNGCardAndItsLoreFiresOnAKey() async throws {
        let fake = try await FakeDiscord.start()
        defer { fake.stop() }
        let model = RecordingModel()
        let bridge = try await DiscordBridge(fake: fake, model: model)
        try await bridge.waitReady()

        // Not a moderator: refused, nothing stored.
        let card = try await Self.attach(fake, "v3-and-v2.png")
        try await fake.inject("!pb persona import", author: World.alice, mentionBot: false, extra: ["attachments": [card]])
        try await eventually("the refusal") { try await Self.botTexts(fake).contains { $0.contains("only moderators") } }
        #expect(try await bridge.store.importedPersonas().isEmpty)

        // A malformed card: the reply names the problem, nothing changes.
        let broken = try await Self.attach(fake, "malformed/truncated.png", as: "broken.png")
        try await fake.inject("!pb persona import", author: World.moderator, mentionBot: false, extra: ["attachments": [broken]])
        try await eventually("the malformed-card reply") {
            try await Self.botTexts(fake).contains { $0.contains("broken.png is not a usable character card") && $0.contains("Nothing was changed") }
        }
        #expect(try await bridge.store.importedPersonas().isEmpty)

        // The moderator's PNG card (ccv3 preferred over chara): imported, bound here, greeting posted once.
        try await fake.inject("!pb persona import", author: World.moderator, mentionBot: false, extra: ["attachments": [card]])
        try await eventually("the import reply") { try await Self.botTexts(fake).contains { $0.contains("Imported Moss") } }
        try await eventually("the greeting") { try await Self.botTexts(fake).contains { $0.hasPrefix("Welcome aboard,") && $0.hasSuffix("I'm Moss.") } }
        #expect(try await fake.counter("cdn_downloads") == 2, "the malformed card and the good one were fetched from the CDN")
        // The card's picture became the avatar of the channel webhook the persona speaks through.
        let hooks = try await fake.get("state")["webhooks"]
        let hook = try #require((hooks.value as? [String: Any])?.keys.first.map { hooks[$0] })
        #expect(hook["channel_id"].string == World.general && hook["avatar"].string?.count == 32, "\(String(describing: hook.value))")
        let stored = try await bridge.store.importedPersonas()
        #expect(stored.map(\.name) == ["moss"])
        #expect(stored.first?.lorebookJSON?.contains("burnt coffee") == true)

        // A message without a key: the reply is Moss's, with no keyed lore.
        try await fake.inject("hello there")
        try await eventually("the first reply") { model.recorded.count == 1 }
        let first = try #require(model.recorded.first)
        #expect(first.messages.first?.name == "Moss")
        #expect(first.messages.first?.content.contains("talking moss wall") == true)
        #expect(!first.messages.contains { $0.content.contains("burnt coffee") })
        try await eventually("Moss's first reply sent") { try await Self.botTexts(fake).contains("(Moss answers)") }

        // A message naming the galley (a regex key): the entry is in the model request.
        try await fake.inject("what's cooking in the galley?")
        try await eventually("the second reply") { model.recorded.count == 2 }
        let second = model.recorded[1]
        #expect(second.messages.first?.name == "Moss")
        #expect(second.messages.contains { $0.content.contains("The galley smells of burnt coffee.") && !$0.content.contains("@@") })
        try await bridge.waitIdle()

        // `lore why` names the entry and the key that matched.
        try await fake.inject("!pb lore why", author: World.moderator, mentionBot: false)
        try await eventually("lore why") {
            try await Self.botTexts(fake).contains { $0.contains("moss/Galley") && $0.contains("galley") }
        }
        await bridge.stop()
    }

    @Test func slashPersonaImportTakesTheAttachmentOption() async throws {
        let fake = try await FakeDiscord.start()
        defer { fake.stop() }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pb-card-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("state.sqlite").path
        let model = RecordingModel()
        let bridge = try await DiscordBridge(fake: fake, model: model, storePath: path)
        try await bridge.waitReady()
        try await eventually("commands registered") { try await fake.counter("command_puts") >= 1 }
        let registered = try await fake.get("state")["commands"][World.guild].array.first { $0["name"].string == "persona" }
        #expect(registered?["options"].array.contains { $0["name"].string == "import" && $0["options"][0]["type"].int == 11 } == true)
        let card = try await Self.attach(fake, "v1.json")
        let id = try #require(card["id"] as? String)
        let options: [[String: Any]] = [["type": 1, "name": "import", "options": [["type": 11, "name": "card", "value": id]]]]
        let data: [String: Any] = ["resolved": ["attachments": [id: card]]]
        let interaction = try await fake.post("inject/interaction", ["name": "persona", "options": options, "data": data,
                                                                     "user_id": World.moderator])
        let answer = try await DiscordFeatureTests.answer(fake, interaction["id"].string ?? "")
        #expect(answer.content.contains("Imported Old Tom") && answer.content.contains("now answers here"), "\(answer.content)")
        #expect(try await bridge.store.importedPersonas().map(\.name) == ["old-tom"])
        try await eventually("the greeting") { try await Self.botTexts(fake).contains("Who goes there?") }

        try await bridge.waitIdle()
        await bridge.stop()
        try await bridge.store.close()

        // After a restart the persona comes back from the store, still bound here, and answers.
        let restarted = try await DiscordBridge(fake: fake, model: model, storePath: path)
        try await restarted.waitReady()
        try await fake.inject("evening, Tom")
        try await eventually("Old Tom's reply") { model.recorded.first?.messages.first?.name == "Old Tom" }
        await restarted.stop()
    }
}

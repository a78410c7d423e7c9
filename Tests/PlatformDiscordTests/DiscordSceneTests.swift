import BridgeConfig
@testable import BridgeCore
import Foundation
import ModelClient
import PBTestSupport
import Storage
import Synchronization
import Testing
@testable import PlatformDiscord

/// A model that answers "NAME speaks." as the persona the group nudge names, and records every request.
final class NudgedModel: ChatModel, Sendable {
    private let recorded = Mutex<[ChatRequest]>([])
    private let inner = TimedModel(pieces: 2, interval: .milliseconds(30)) { request in "\(NudgedModel.speaker(of: request) ?? "?") speaks." }

    /// The speaker a request asks for, read from the nudge at its very end.
    static func speaker(of request: ChatRequest) -> String? {
        guard let last = request.messages.last, last.role == .system,
              last.content.hasPrefix("[Write the next reply only as ") else { return nil }
        return String(last.content.dropFirst("[Write the next reply only as ".count).dropLast(2))
    }

    var requests: [ChatRequest] { recorded.withLock { $0 } }
    /// Who each request asked to speak, in order.
    var speakers: [String] { requests.map { Self.speaker(of: $0) ?? "?" } }

    func stream(_ request: ChatRequest) -> AsyncThrowingStream<ModelEvent, Error> {
        recorded.withLock { $0.append(request) }
        return inner.stream(request)
    }
}

/// A three-persona scene on the fake Discord: each activation strategy with a seeded generator; the model requests
/// show which persona spoke, and the webhook messages carry the same names in the same order.
@Suite(.serialized) struct DiscordSceneTests {
    static let cleo = Persona(name: "cleo", displayName: "Cleo", character: "Cleo is a sly thief.")
    static let personas = [DiscordBridge.aria, DiscordBridge.bolt, cleo]

    static func bridge(_ fake: FakeDiscord, model: NudgedModel, activation: ActivationStrategy, seed: UInt64) async throws -> DiscordBridge {
        var binding = RouterConfiguration.Binding(platform: "discord", channelID: World.general, personas: ["aria", "bolt", "cleo"],
                                                  trigger: TriggerOverrides(cooldownSeconds: 0))
        binding.sceneSettings = SceneSettings(activation: activation)
        let bridge = try await DiscordBridge(fake: fake, model: model, personas: personas, bindings: [binding],
                                             random: SeededGenerator(seed: seed))
        try await bridge.waitReady()
        return bridge
    }

    /// Webhook usernames of the persona messages in the scene, oldest first.
    static func spoken(_ fake: FakeDiscord) async throws -> [String] {
        try await fake.botMessages(in: World.general).filter { !$0["webhook_id"].isNull }.compactMap { $0["author"]["username"].string }
    }

    /// Natural activation through the real gateway: named personas answer first, in the order the text names them,
    /// each reply asked of the model once, as the persona that posts it. Personas may answer each other's replies
    /// (bot turns), and when such an echo reaches the router against the next human line depends on the moment, so
    /// the exact seeded rolls are checked where time is injected (`SceneActivationTests`, `RouterSceneTests`).
    @Test func naturalNamedFirstThenSeededRolls() async throws {
        let fake = try await FakeDiscord.start()
        defer { fake.stop() }
        let model = NudgedModel()
        let bridge = try await Self.bridge(fake, model: model, activation: .natural, seed: 2026)
        let key = ChannelKey(platform: "discord", serverID: World.guild, channelID: World.general)
        // The named personas a message must at least bring.
        let lines: [(text: String, named: [String])] = [("Cleo, what did you steal tonight?", ["Cleo"]), ("The fire crackles.", []),
                                                         ("Bolt and Aria, your thoughts?", ["Bolt", "Aria"])]
        var chains: [[String]] = []
        for line in lines {
            let before = try await Self.spoken(fake).count
            try await fake.inject(line.text, mentionBot: false)
            try await eventually("\"\(line.text)\" in history") {
                await bridge.router.flushHistory()
                return try await bridge.store.recentMessages(in: key, limit: 50).contains { $0.text == line.text }
            }
            try await eventually("\(line.named) answering \"\(line.text)\"") {
                try await Self.spoken(fake).count >= before + line.named.count
            }
            try await bridge.waitIdle()
            chains.append(Array(try await Self.spoken(fake).dropFirst(before)))
        }
        await bridge.stop()
        #expect(model.speakers == (try await Self.spoken(fake)), "each reply asked the model once, as the persona that posted it")
        for (line, chain) in zip(lines, chains) {
            #expect(Array(chain.prefix(line.named.count)) == line.named, "\(line.text): \(chains)")
        }
    }

    @Test func listPooledAndManualWithModeratorCommandsAndNext() async throws {
        let fake = try await FakeDiscord.start()
        defer { fake.stop() }
        let model = NudgedModel()
        let bridge = try await Self.bridge(fake, model: model, activation: .list, seed: 7)

        // list: everyone, in list order, each request after the one before it.
        try await fake.inject("Good evening, all!", mentionBot: false)
        try await eventually("three replies") { try await Self.spoken(fake).count >= 3 }
        try await bridge.waitIdle()
        #expect(try await Self.spoken(fake) == ["Aria", "Bolt", "Cleo"])
        #expect(model.speakers == ["Aria", "Bolt", "Cleo"])
        // Cleo's prompt shows Aria's and Bolt's replies after the message they answer.
        let cleoPrompt = try #require(model.requests.last).messages
        #expect(cleoPrompt.suffix(4).map(\.content) == ["Good evening, all!", "Aria speaks.", "Bolt speaks.",
                                                        "[Write the next reply only as Cleo.]"])

        // pooled, set by a moderator: one persona per message, never the one that answered the message before.
        try await fake.inject("!pb scene activation pooled", author: World.moderator, mentionBot: false)
        try await eventually("the activation answer") {
            try await fake.botMessages(in: World.general).contains { $0["content"].string?.contains("activation is now pooled") == true }
        }
        try await bridge.waitIdle()
        var pooled: [String] = []
        for text in ["A toast!", "Another round?", "To the road."] {
            let before = try await Self.spoken(fake).count
            try await fake.inject(text, mentionBot: false)
            try await eventually("one reply to \(text)") { try await Self.spoken(fake).count >= before + 1 }
            try await bridge.waitIdle()
            let now = try await Self.spoken(fake)
            #expect(now.count == before + 1, "pooled answers with exactly one persona")
            pooled.append(now.last ?? "")
        }
        #expect(pooled[0] != "Cleo", "Cleo spoke last")
        for (a, b) in zip(pooled, pooled.dropFirst()) { #expect(a != b, "\(pooled)") }
        #expect(Array(model.speakers.suffix(3)) == pooled)

        // manual: nobody, until /next.
        try await fake.inject("!pb scene activation manual", author: World.moderator, mentionBot: false)
        try await eventually("the activation answer") {
            try await fake.botMessages(in: World.general).contains { $0["content"].string?.contains("activation is now manual") == true }
        }
        try await bridge.waitIdle()
        let quiet = try await Self.spoken(fake).count
        let key = ChannelKey(platform: "discord", serverID: World.guild, channelID: World.general)
        try await fake.inject("Aria? Bolt? Anyone?", mentionBot: true)
        try await eventually("the unanswered message in history") {
            try await bridge.store.recentMessages(in: key, limit: 5).contains { $0.text.contains("Bolt? Anyone?") }
        }
        try await bridge.waitIdle()
        #expect(try await Self.spoken(fake).count == quiet)
        _ = try await fake.post("inject/interaction", ["name": "next", "user_id": World.alice,
                                                       "options": [["type": 3, "name": "name", "value": "bolt"]]])
        try await eventually("Bolt answers /next") { try await Self.spoken(fake).count == quiet + 1 }
        try await bridge.waitIdle()
        #expect(try await Self.spoken(fake).last == "Bolt")
        #expect(model.speakers.last == "Bolt")
        #expect(try await bridge.store.channelSettings(for: key)?.activation == "manual")
        await bridge.stop()
    }
}

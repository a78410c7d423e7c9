import BridgeConfig
@testable import BridgeCore
import Foundation
import Logging
import ModelClient
import PBTestSupport
import Storage
import Testing

/// A three-persona scene through the router, the in-memory platform and the fake model, with a seeded generator.
struct SceneHarness {
    static let aria = Persona(name: "aria", displayName: "Aria", aliases: ["the bard"], character: "Aria is a cheerful bard.")
    static let bolt = Persona(name: "bolt", displayName: "Bolt", character: "Bolt is a grumpy smith.")
    static let cleo = Persona(name: "cleo", displayName: "Cleo", character: "Cleo is a sly thief.")

    let platform: InMemoryPlatform
    let router: Router
    let task: Task<Void, Never>
    let channel: ChannelRef
    let model: FakeModel

    /// The speaker of a request, read from the nudge at its very end.
    static func speaker(of request: ChatRequest) -> String? {
        guard let last = request.messages.last, last.role == .system,
              last.content.hasPrefix("[Write the next reply only as ") else { return nil }
        return String(last.content.dropFirst("[Write the next reply only as ".count).dropLast(2))
    }

    /// A model that answers "NAME speaks." as the nudged persona.
    static func model() -> FakeModel {
        FakeModel { request in [.delta("\(speaker(of: request) ?? "?") speaks."), .finish(.stop), .usage(100)] }
    }

    init(store: any Store, activation: ActivationStrategy?, groupPrompt: GroupPromptMode = .swap, maxBotTurns: Int? = nil,
         seed: UInt64 = 42, model: FakeModel = SceneHarness.model(), concurrentReplies: Int = 1) {
        let platform = InMemoryPlatform(name: "memory", capabilities: .init(canEdit: true, maxLength: 2000))
        platform.setModerators([moderator.id])
        var binding = RouterConfiguration.Binding(platform: "memory", channelID: "tavern", personas: ["aria", "bolt", "cleo"],
                                                  trigger: TriggerOverrides(cooldownSeconds: 0, maxBotTurns: maxBotTurns))
        binding.sceneSettings = SceneSettings(activation: activation, groupPrompt: groupPrompt)
        var configuration = RouterConfiguration(personas: [Self.aria, Self.bolt, Self.cleo], bindings: [binding])
        configuration.maxConcurrentReplies = concurrentReplies
        let router = Router(configuration: configuration, model: model, store: store, platforms: [platform],
                            clock: ContinuousClock(), random: SeededGenerator(seed: seed), logger: Logger(label: "scene-test"))
        self.platform = platform
        self.router = router
        self.model = model
        self.channel = platform.channel("tavern", server: "s1", name: "tavern", serverName: "Inn")
        task = Task {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { try? await platform.run() }
                group.addTask { try? await router.run() }
            }
        }
    }

    func stop() async {
        platform.stop()
        await task.value
    }

    /// Persona names of the replies sent so far, in order.
    var speakers: [String] {
        platform.operations.compactMap { op in
            if case .send(_, _, _, _, let identity?) = op { return identity.name }
            return nil
        }
    }

    /// Waits until `id` was handled and no reply runs.
    func waitHandled(_ id: String) async throws {
        let platform = self.platform, router = self.router, channel = self.channel
        try await eventually("message \(id) handled", detail: { "\(platform.operations.count) operations in \(channel.key)" }) {
            guard platform.handled(messageID: id) else { return false }
            return await router.replies.isIdle
        }
    }

    /// Posts and waits until the message and the chain it started are done.
    @discardableResult
    func say(_ text: String, by user: ChatUser = alice, mentionsUs: Bool = false) async throws -> String {
        let id = platform.post(text, by: user, in: channel, mentionsUs: mentionsUs)
        try await waitHandled(id)
        return id
    }
}

@Suite struct RouterSceneTests {
    @Test func listAnswersWithEveryPersonaInOrderEachSeeingThePreviousReplies() async throws {
        let h = SceneHarness(store: try SQLiteStore.inMemory(), activation: .list)
        let id = try await h.say("Good evening, everyone!")
        await h.stop()
        #expect(h.speakers == ["aria", "bolt", "cleo"])
        #expect(h.platform.sentMessages.map(\.text) == ["Aria speaks.", "Bolt speaks.", "Cleo speaks."])
        let requests = h.model.requests
        #expect(requests.map { SceneHarness.speaker(of: $0) } == ["Aria", "Bolt", "Cleo"])
        // Swap: only the speaker's card, named after it.
        #expect(requests.map { $0.messages[0].name } == ["Aria", "Bolt", "Cleo"])
        #expect(requests[1].messages[0].content == "Bolt is a grumpy smith.")
        // Cleo's prompt: the human message, then Aria's and Bolt's replies to it, then the nudge.
        let tail = Array(requests[2].messages.suffix(4))
        #expect(tail == [ChatMessage(role: .user, content: "Good evening, everyone!", name: "Alice"),
                         ChatMessage(role: .user, content: "Aria speaks.", name: "Aria"),
                         ChatMessage(role: .user, content: "Bolt speaks.", name: "Bolt"),
                         ChatMessage(role: .system, content: "[Write the next reply only as Cleo.]")])
        // Every reply answers the human message.
        let targets = h.platform.operations.compactMap { op -> String? in
            if case .send(_, _, _, let replyTo, _) = op { return replyTo }
            return nil
        }
        #expect(targets == [id, id, id])
    }

    @Test func naturalNamedFirstThenTheSeededRolls() async throws {
        let h = SceneHarness(store: try SQLiteStore.inMemory(), activation: .natural, seed: 42)
        try await h.say("Cleo, what did you steal?")
        try await h.say("the night is long")
        await h.stop()
        // The same seed through the state machine alone gives the same chains.
        var machine = SceneActivation()
        var random = SeededGenerator(seed: 42)
        let members = [SceneHarness.aria, SceneHarness.bolt, SceneHarness.cleo].map {
            SceneActivation.Member(name: $0.name, callNames: [$0.name, $0.displayName] + $0.aliases)
        }
        var expected: [String] = []
        for text in ["Cleo, what did you steal?", "the night is long"] {
            let turns = machine.activate(TriggerPolicy.Message(channel: h.channel.key, text: text), members: members,
                                         rules: .init(strategy: .natural), now: .zero, using: &random).turns.map(\.persona)
            for name in turns { machine.recordReply(channel: h.channel.key, persona: name, now: .zero) }
            expected += turns
        }
        #expect(h.speakers == expected)
        #expect(h.speakers.first == "cleo")
        #expect(h.model.requests.map { SceneHarness.speaker(of: $0)?.lowercased() } == expected)
    }

    @Test func pooledGivesEachMessageOnePersonaThatDidNotJustSpeak() async throws {
        let h = SceneHarness(store: try SQLiteStore.inMemory(), activation: .pooled)
        for text in ["one", "two", "three", "four"] { try await h.say(text) }
        await h.stop()
        let speakers = h.speakers
        #expect(speakers.count == 4)
        for (a, b) in zip(speakers, speakers.dropFirst()) { #expect(a != b, "\(speakers)") }
        #expect(h.model.requests.map { SceneHarness.speaker(of: $0)?.lowercased() } == speakers)
    }

    @Test func manualWaitsForNextAndMuteIsStoredForModeratorsOnly() async throws {
        let store = try SQLiteStore.inMemory()
        let h = SceneHarness(store: store, activation: .manual)
        try await h.say("Anyone there? Aria?", mentionsUs: true)
        #expect(h.speakers.isEmpty)
        try await h.say("!pb next cleo")
        #expect(h.speakers == ["cleo"])
        #expect(SceneHarness.speaker(of: try #require(h.model.requests.last)) == "Cleo")
        // Muting needs a moderator, persists, and keeps the persona out of every strategy and of `next`.
        try await h.say("!pb mute bolt")
        #expect(h.platform.sentMessages.last?.text.contains("only moderators") == true)
        try await h.say("!pb mute bolt", by: moderator)
        try await h.say("!pb scene activation list", by: moderator)
        let key = ChannelKey(platform: "memory", serverID: "s1", channelID: "tavern")
        let stored = try await store.channelSettings(for: key)
        #expect(stored?.mutedPersonas == ["bolt"])
        #expect(stored?.activation == "list")
        try await h.say("!pb next bolt")
        #expect(h.platform.sentMessages.last?.text.contains("muted") == true)
        let before = h.speakers.count
        try await h.say("hello all")
        #expect(Array(h.speakers.dropFirst(before)) == ["aria", "cleo"])
        await h.stop()

        // A restart reads the stored activation and mute.
        let again = SceneHarness(store: store, activation: .manual)
        try await again.say("and again")
        #expect(again.speakers == ["aria", "cleo"])
        try await again.say("!pb unmute bolt", by: moderator)
        try await again.say("once more")
        #expect(Array(again.speakers.dropFirst(2)) == ["aria", "bolt", "cleo"])
        await again.stop()
    }

    @Test func chainsForQuickMessagesDoNotInterleave() async throws {
        let h = SceneHarness(store: try SQLiteStore.inMemory(), activation: .list, concurrentReplies: 3)
        let first = h.platform.post("First round!", by: alice, in: h.channel)
        let second = h.platform.post("Second round!", by: bob, in: h.channel)
        try await h.waitHandled(second)
        try await h.waitHandled(first)
        await h.stop()
        #expect(h.speakers == ["aria", "bolt", "cleo", "aria", "bolt", "cleo"])
        let targets = h.platform.operations.compactMap { op -> String? in
            if case .send(_, _, _, let replyTo, _) = op { return replyTo }
            return nil
        }
        #expect(targets == [first, first, first, second, second, second])
        // The second chain started after the first ended: its first prompt holds all three earlier replies.
        let aria2 = h.model.requests[3].messages.suffix(5).map(\.content)
        #expect(aria2 == ["Aria speaks.", "Bolt speaks.", "Cleo speaks.", "Second round!", "[Write the next reply only as Aria.]"])
    }

    @Test func talkativenessInAScene() async throws {
        let h = SceneHarness(store: try SQLiteStore.inMemory(), activation: .natural)
        await h.stop()
        var quiet = SceneHarness.bolt
        quiet.trigger.mode = .mentionOnly
        var eager = SceneHarness.bolt
        eager.trigger.mode = .always
        var own = SceneHarness.bolt
        own.trigger.talkativeness = 0.8
        #expect(h.router.sceneTalkativeness(SceneHarness.bolt, in: h.channel, stored: nil) == 0.5)
        #expect(h.router.sceneTalkativeness(quiet, in: h.channel, stored: nil) == 0)
        #expect(h.router.sceneTalkativeness(eager, in: h.channel, stored: nil) == 1)
        #expect(h.router.sceneTalkativeness(own, in: h.channel, stored: ChannelSettings(talkativeness: 0.1)) == 0.8)
        #expect(h.router.sceneTalkativeness(SceneHarness.bolt, in: h.channel, stored: ChannelSettings(talkativeness: 0.1)) == 0.1)
    }

    @Test func maxBotTurnsCapsTheChain() async throws {
        let h = SceneHarness(store: try SQLiteStore.inMemory(), activation: .list, maxBotTurns: 2)
        try await h.say("Hi!")
        await h.stop()
        #expect(h.speakers == ["aria", "bolt"])
    }

    @Test func joinKeepsEveryCardInTheStablePrefix() async throws {
        let h = SceneHarness(store: try SQLiteStore.inMemory(), activation: .list, groupPrompt: .join)
        try await h.say("Good evening!")
        await h.stop()
        let requests = h.model.requests
        #expect(requests.count == 3)
        let system = requests[0].messages[0]
        #expect(system.name == "Aria, Bolt, Cleo")
        #expect(system.content == "[Aria]\nAria is a cheerful bard.\n\n[Bolt]\nBolt is a grumpy smith.\n\n[Cleo]\nCleo is a sly thief.")
        // Everything before the nudge of the first request starts the later ones unchanged.
        for later in requests.dropFirst() {
            #expect(Array(later.messages.prefix(requests[0].messages.count - 1)) == Array(requests[0].messages.dropLast()))
        }
        #expect(requests[2].messages.suffix(3).first == ChatMessage(role: .assistant, content: "Aria speaks.", name: "Aria"))
        #expect(requests.map { SceneHarness.speaker(of: $0) } == ["Aria", "Bolt", "Cleo"])
    }
}

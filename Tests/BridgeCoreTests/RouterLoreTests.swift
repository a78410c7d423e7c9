import BridgeConfig
@testable import BridgeCore
import Foundation
import Logging
import ModelClient
import PBTestSupport
import Storage
import Testing

/// Lorebooks in replies through the router: a channel's configured book, the moderator `lore` commands, macros
/// and post-history placement, with the in-memory platform and a recording model.
@Suite struct RouterLoreTests {
    static let book: Lorebook = {
        let json = """
            {"spec": "lorebook_v3", "data": {"name": "Harbour Town", "entries": [
              {"keys": ["lighthouse"], "content": "The lighthouse keeper is {{char}}'s aunt.", "enabled": true,
               "insertion_order": 10, "comment": "Lighthouse", "position": "after_char"},
              {"keys": ["tavern"], "content": "The tavern is called the Drowned Lantern.", "enabled": true,
               "insertion_order": 20, "comment": "Tavern"},
              {"keys": [], "content": "Harbour Town is foggy.", "constant": true, "enabled": true,
               "insertion_order": 5, "comment": "Weather"}
            ]}}
            """
        return try! Lorebook.decode(json: Data(json.utf8)).book
    }()

    static let aria = Persona(name: "aria", displayName: "Aria", character: "You are Aria; {{user}} is your friend.")

    struct LoreHarness {
        let platform: InMemoryPlatform
        let router: Router
        let model: FakeModel
        let channel: ChannelRef
        let task: Task<Void, Never>

        init(persona: Persona = RouterLoreTests.aria, store: SQLiteStore) {
            let platform = InMemoryPlatform(name: "memory", capabilities: .init(canEdit: true, maxLength: 2000))
            platform.setModerators([moderator.id])
            var binding = RouterConfiguration.Binding(platform: "memory", channelID: "general", personas: [persona.name])
            binding.lorebooks = ["harbour-town"]
            var configuration = RouterConfiguration(personas: [persona], bindings: [binding])
            configuration.lorebooks = ["harbour-town": RouterLoreTests.book]
            configuration.maxConcurrentReplies = 1
            let model = FakeModel.echo()
            let router = Router(configuration: configuration, model: model, store: store, platforms: [platform],
                                clock: ContinuousClock(), logger: Logger(label: "test"))
            self.platform = platform
            self.router = router
            self.model = model
            channel = platform.channel("general", server: "s1", name: "general", serverName: "Test")
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

        func sentTexts() -> [String] { platform.sentMessages.map(\.text) }
    }

    @Test func keyedLoreFiresOnItsKeyAndTheModeratorCommandsShowAndSwitchIt() async throws {
        let h = LoreHarness(store: try SQLiteStore.inMemory())
        h.platform.post("Aria, hello!", by: alice, in: h.channel)
        try await eventually("the first reply") { h.model.requests.count == 1 }
        let first = try #require(h.model.requests.first)
        // The constant entry is in the system prefix; no keyed entry fired; macros expanded with a stable user.
        #expect(first.messages[0].content.contains("Harbour Town is foggy."))
        #expect(first.messages[0].content.contains("You are Aria; the user is your friend."))
        #expect(!first.messages.contains { $0.content.contains("lighthouse keeper") })

        h.platform.post("Aria, who keeps the lighthouse?", by: alice, in: h.channel)
        try await eventually("the second reply") { h.model.requests.count == 2 }
        let second = h.model.requests[1]
        #expect(second.messages.contains { $0.content.contains("The lighthouse keeper is Aria's aunt.") })
        #expect(second.messages[0].content == first.messages[0].content, "keyed lore stays out of the cached prefix")
        try await eventually("the second reply sent") { h.sentTexts().count == 2 }

        // `lore why` names the entry and its key; a non-moderator is refused.
        h.platform.post("!pb lore why", by: alice, in: h.channel)
        try await eventually("the refusal") { h.sentTexts().contains { $0.contains("only moderators") } }
        h.platform.post("!pb lore why", by: moderator, in: h.channel)
        try await eventually("lore why") {
            h.sentTexts().contains { $0.contains("harbour-town/Lighthouse: keys \"lighthouse\"") && $0.contains("harbour-town/Weather: constant") }
        }
        h.platform.post("!pb lore list", by: moderator, in: h.channel)
        try await eventually("lore list") { h.sentTexts().contains("Lorebooks here — harbour-town: on, 3 entries") }
        h.platform.post("!pb lore show tavern", by: moderator, in: h.channel)
        try await eventually("lore show") {
            h.sentTexts().contains { $0.hasPrefix("harbour-town/Tavern (entry 1) · keys: tavern") && $0.contains("Drowned Lantern") }
        }

        // Off: the book no longer fires, not even its constant entry.
        h.platform.post("!pb lore off harbour-town", by: moderator, in: h.channel)
        try await eventually("lore off") { h.sentTexts().contains("Lorebook harbour-town is off in this channel.") }
        h.platform.post("Aria, the tavern tonight?", by: alice, in: h.channel)
        try await eventually("the third reply") { h.model.requests.count == 3 }
        #expect(!h.model.requests[2].messages.contains { $0.content.contains("Drowned Lantern") || $0.content.contains("foggy") })
        h.platform.post("!pb lore attach nowhere", by: moderator, in: h.channel)
        try await eventually("unknown book") { h.sentTexts().contains("No lorebook called \"nowhere\". Available: harbour-town.") }
        await h.stop()
    }

    @Test func postHistoryInstructionsGoLastAndTheGreetingIsPostedOnce() async throws {
        var persona = Self.aria
        persona.postHistory = "Keep replies under 120 words, {{char}}."
        persona.greeting = "random"
        persona.alternateGreetings = ["*Aria waves.*"]
        persona.groupGreetings = ["*Aria waves at everyone.*"]
        let h = LoreHarness(persona: persona, store: try SQLiteStore.inMemory())
        h.platform.post("!pb persona set aria", by: moderator, in: h.channel)
        try await eventually("the greeting") { h.sentTexts().contains("*Aria waves.*") }
        h.platform.post("!pb persona set aria", by: moderator, in: h.channel)
        try await eventually("the second answer") { h.sentTexts().filter { $0 == "Aria now answers here." }.count == 2 }
        h.platform.post("Aria, hi", by: alice, in: h.channel)
        try await eventually("the reply") { h.model.requests.count == 1 }
        let request = try #require(h.model.requests.first)
        #expect(request.messages.last == ChatMessage(role: .system, content: "Keep replies under 120 words, Aria."))
        #expect(request.messages.contains { $0.content == "*Aria waves.*" && $0.role == .assistant }, "the greeting is history")
        #expect(h.sentTexts().filter { $0 == "*Aria waves.*" }.count == 1, "greeted once")

        var generator = SystemRandomNumberGenerator()
        #expect(Router.greeting(of: persona, group: true, using: &generator) == "*Aria waves at everyone.*")
        persona.greeting = "Hello."
        #expect(Router.greeting(of: persona, group: false, using: &generator) == "Hello.")
        await h.stop()
    }

    @Test func aPersonaImportedByAnotherProcessAnswersWithoutARestart() async throws {
        let store = try SQLiteStore.inMemory()
        let h = LoreHarness(store: store)
        h.platform.post("Aria, hello!", by: alice, in: h.channel)
        try await eventually("the router is running") { h.model.requests.count == 1 }

        // Another process on the same database imports a persona and binds it to a channel.
        let tom = Persona(name: "tom", displayName: "Old Tom", character: "You are Old Tom.")
        try await store.saveImportedPersona(ImportedPersonaRecord(
            name: "tom", personaJSON: String(decoding: try JSONEncoder().encode(tom), as: UTF8.self), importedBy: "elsewhere"))
        let side = h.platform.channel("side", server: "s1", name: "side", serverName: "Test")
        try await store.updateChannelSettings(for: ChannelKey(platform: "memory", serverID: "s1", channelID: "side")) {
            $0.personas = ["tom"]
        }
        h.platform.post("Old Tom, are you there?", by: alice, in: side)
        try await eventually("Old Tom's reply") { h.model.requests.count == 2 }
        #expect(h.model.requests[1].messages.first?.name == "Old Tom")
        await h.stop()
    }
}

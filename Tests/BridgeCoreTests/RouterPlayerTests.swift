import BridgeConfig
@testable import BridgeCore
import Foundation
import Logging
import ModelClient
import PBTestSupport
import Storage
import Testing

/// `!pb me` through the router: scene and platform characters, how they reach the prompt, and what is refused.
@Suite struct RouterPlayerTests {
    @Test func sceneCharacterWinsOverThePlatformOneAndOthersKeepTheirOldText() async throws {
        let platform = InMemoryPlatform()
        let general = platform.channel("general")
        let tavern = platform.channel("tavern")
        let store = try SQLiteStore.inMemory()
        let model = FakeModel.echo()
        let router = Router(configuration: RouterConfiguration(personas: [Harness.aria], defaultPersonas: ["aria"]), model: model,
                            store: store, platforms: [platform], logger: Logger(label: "test"))
        func say(_ text: String, as user: ChatUser = alice, in channel: ChannelRef, id: String) async {
            await router.handle(.messageCreated(IncomingMessage(channel: channel, author: user, messageID: id, text: text)), from: platform)
        }

        await say("!pb me set ARIA: the real one", in: general, id: "c0")
        #expect(platform.sentMessages.last?.text == "ARIA is the name of the persona Aria; pick another name for your character.")
        await say("!pb me set --everywhere Kael: A scarred ranger.", in: general, id: "c1")
        #expect(platform.sentMessages.last?.text == "Alice now plays Kael everywhere on memory.")
        await say("!pb me set Rook: A thief with a grudge.", in: tavern, id: "c2")
        #expect(platform.sentMessages.last?.text == "Alice now plays Rook in this scene.")
        // Bob set only the older per-user text: it still describes him.
        try await store.setUserPersona("A retired pirate.", platform: "memory", userID: bob.id)

        await say("Aria, hello", in: general, id: "m1")
        await say("Aria, me too", as: bob, in: general, id: "m2")
        await say("Aria, a drink", in: tavern, id: "m3")
        #expect(model.requests.count == 3)
        let inGeneral = model.requests[1].messages
        let people = try #require(inGeneral.first { $0.role == .userSystem }).content
        #expect(people.contains("- Kael: A scarred ranger."), "\(people)")
        #expect(people.contains("- Bob: A retired pirate."), "\(people)")
        #expect(inGeneral.contains { $0.role == .user && $0.name == "Kael" && $0.content == "Aria, hello" })
        #expect(!inGeneral.contains { $0.name == "Alice" })
        let inTavern = model.requests[2].messages
        #expect(inTavern.contains { $0.role == .user && $0.name == "Rook" && $0.content == "Aria, a drink" })
        #expect(try #require(inTavern.first { $0.role == .userSystem }).content.contains("- Rook: A thief with a grudge."))

        await say("!pb me show", in: tavern, id: "c3")
        let shown = try #require(platform.sentMessages.last?.text)
        #expect(shown == "Here you play Rook: A thief with a grudge.\nElsewhere on memory you play Kael: A scarred ranger.")
        await say("!pb me clear", in: tavern, id: "c4")
        #expect(platform.sentMessages.last?.text == "Alice no longer plays Rook here; here you play Kael again (set for all of memory).")
        await say("!pb me clear", in: tavern, id: "c5")
        #expect(platform.sentMessages.last?.text == "You have no character set for this scene.")
        await say("!pb me clear --everywhere", in: tavern, id: "c6")
        await say("!pb me", in: tavern, id: "c7")
        #expect(platform.sentMessages.last?.text.hasPrefix("You play yourself (Alice).") == true)
    }
}

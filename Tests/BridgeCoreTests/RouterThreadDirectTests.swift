import BridgeConfig
@testable import BridgeCore
import Foundation
import Logging
import PBTestSupport
import Storage
import Testing

/// Threads take their parent channel's binding and stored settings but keep their own history; direct messages are
/// answered only by `dm_personas`, per user.
@Suite struct RouterThreadDirectTests {
    static let cleo = Persona(name: "cleo", displayName: "Cleo", character: "You are Cleo, a sly thief.")

    static func configuration() -> RouterConfiguration {
        var configuration = RouterConfiguration(personas: [Harness.aria, Harness.bolt, cleo],
                                                bindings: [.init(platform: "memory", channelID: "general", personas: ["aria"])],
                                                defaultPersonas: ["cleo"])
        configuration.dmPersonas = ["memory": ["aria", "bolt"]]
        return configuration
    }

    @Test func bindingLookupFallsBackToTheParentOnlyForThreads() {
        var configuration = Self.configuration()
        configuration.bindings.append(.init(platform: "memory", channelID: "own-thread", personas: ["bolt"]))
        let thread = ChannelRef(platform: "memory", channelID: "t1", serverID: "s1", parentID: "general")
        #expect(configuration.binding(for: thread)?.personas == ["aria"])
        let bound = ChannelRef(platform: "memory", channelID: "own-thread", serverID: "s1", parentID: "general")
        #expect(configuration.binding(for: bound)?.personas == ["bolt"], "a thread's own binding wins")
        #expect(configuration.binding(for: ChannelRef(platform: "memory", channelID: "t2", parentID: "elsewhere")) == nil)
        #expect(configuration.binding(for: ChannelRef(platform: "other", channelID: "t1", parentID: "general")) == nil)
        #expect(configuration.binding(for: ChannelRef(platform: "memory", channelID: "general", isDirect: true)) == nil)
        #expect(thread.key == "memory:s1:t1", "the parent is not part of the key")
    }

    @Test func threadInheritsStoredSettingsWithItsOwnHistory() async throws {
        let platform = InMemoryPlatform(name: "memory", capabilities: PlatformCapabilities(canEdit: true, maxLength: 2000))
        let moderator = ChatUser(id: "u-mod", displayName: "Mod")
        let alice = ChatUser(id: "u-alice", displayName: "Alice")
        platform.setModerators([moderator.id])
        let general = platform.channel("general", server: "s1")
        var thread = platform.channel("t1", server: "s1")
        thread.parentID = "general"
        let store = try SQLiteStore.inMemory()
        let model = FakeModel.echo()
        let router = Router(configuration: Self.configuration(), model: model, store: store, platforms: [platform],
                            logger: Logger(label: "test"))

        await router.handle(.messageCreated(IncomingMessage(channel: general, author: moderator, messageID: "c1",
                                                            text: "!pb persona set bolt")), from: platform)
        await router.handle(.messageCreated(IncomingMessage(channel: general, author: alice, messageID: "m1",
                                                            text: "The dragon sleeps.", mentionsUs: true)), from: platform)
        await router.handle(.messageCreated(IncomingMessage(channel: thread, author: alice, messageID: "m2",
                                                            text: "The key is under the mat.", mentionsUs: true)), from: platform)
        #expect(model.requests.count == 2)
        let threadRequest = try #require(model.requests.last).messages
        #expect(threadRequest.first?.name == "Bolt", "the thread answers with the parent's stored persona")
        #expect(threadRequest.contains { $0.content.contains("The key is under the mat.") })
        #expect(!threadRequest.contains { $0.content.contains("The dragon sleeps.") }, "the parent's history stays out")
        #expect(try await store.recentMessages(in: Router.key(thread), limit: 10).map(\.text).contains("The key is under the mat."))
        #expect(!(try await store.recentMessages(in: Router.key(general), limit: 10).map(\.text).contains("The key is under the mat.")))

        // Changing one setting in the thread starts from what it inherited: Bolt stays.
        await router.handle(.messageCreated(IncomingMessage(channel: thread, author: moderator, messageID: "c2",
                                                            text: "!pb talkativeness 0")), from: platform)
        let own = try #require(try await store.channelSettings(for: Router.key(thread)))
        #expect(own.personas == ["bolt"] && own.talkativeness == 0)
        #expect(try await store.channelSettings(for: Router.key(general))?.talkativeness == nil, "the parent is unchanged")
        // And the parent's later changes no longer reach a thread with settings of its own.
        await router.handle(.messageCreated(IncomingMessage(channel: general, author: moderator, messageID: "c3",
                                                            text: "!pb persona set cleo")), from: platform)
        await router.handle(.messageCreated(IncomingMessage(channel: thread, author: alice, messageID: "m3",
                                                            text: "Still there?", mentionsUs: true)), from: platform)
        #expect(model.requests.last?.messages.first?.name == "Bolt")
    }

    @Test func directMessagesAnswerOnlyDMPersonasPerUser() async throws {
        let platform = InMemoryPlatform(name: "memory", capabilities: PlatformCapabilities(canEdit: true, maxLength: 2000))
        let alice = ChatUser(id: "u-alice", displayName: "Alice")
        let bob = ChatUser(id: "u-bob", displayName: "Bob")
        var aliceDM = platform.channel("dm-alice")
        aliceDM.isDirect = true
        var bobDM = platform.channel("dm-bob")
        bobDM.isDirect = true
        let store = try SQLiteStore.inMemory()
        let model = FakeModel.echo()
        let router = Router(configuration: Self.configuration(), model: model, store: store, platforms: [platform],
                            logger: Logger(label: "test"))

        await router.handle(.messageCreated(IncomingMessage(channel: aliceDM, author: alice, messageID: "a1",
                                                            text: "My secret is blue.", mentionsUs: true)), from: platform)
        #expect(model.requests.last?.messages.first?.name == "Aria", "the first dm_persona by default, not default_personas")
        await router.handle(.messageCreated(IncomingMessage(channel: bobDM, author: bob, messageID: "b1",
                                                            text: "I like cheese.", mentionsUs: true)), from: platform)
        let bobRequest = try #require(model.requests.last).messages
        #expect(bobRequest.contains { $0.content.contains("I like cheese.") })
        #expect(!bobRequest.contains { $0.content.contains("blue") }, "each DM is its own scene")

        // Alice (no moderator) picks among dm_personas, and only there.
        await router.handle(.messageCreated(IncomingMessage(channel: aliceDM, author: alice, messageID: "a2",
                                                            text: "!pb persona set cleo")), from: platform)
        #expect(platform.sentMessages.last?.text.contains("you can talk to: aria, bolt") == true)
        await router.handle(.messageCreated(IncomingMessage(channel: aliceDM, author: alice, messageID: "a3",
                                                            text: "!pb persona add bolt")), from: platform)
        #expect(platform.sentMessages.last?.text.contains("A direct message has one persona") == true)
        await router.handle(.messageCreated(IncomingMessage(channel: aliceDM, author: alice, messageID: "a4",
                                                            text: "!pb persona set bolt")), from: platform)
        #expect(platform.sentMessages.contains { $0.text.contains("Bolt now answers here.") })
        await router.handle(.messageCreated(IncomingMessage(channel: aliceDM, author: alice, messageID: "a5",
                                                            text: "What is my secret?", mentionsUs: true)), from: platform)
        let aliceRequest = try #require(model.requests.last).messages
        #expect(aliceRequest.first?.name == "Bolt")
        #expect(aliceRequest.contains { $0.content.contains("My secret is blue.") })
        #expect(!aliceRequest.contains { $0.content.contains("cheese") })
        await router.handle(.messageCreated(IncomingMessage(channel: bobDM, author: bob, messageID: "b2",
                                                            text: "Hello again", mentionsUs: true)), from: platform)
        #expect(model.requests.last?.messages.first?.name == "Aria", "Alice's pick is hers alone")

        // Without dm_personas a platform's direct messages get no answer (they are only recorded).
        let other = InMemoryPlatform(name: "other", capabilities: PlatformCapabilities(canEdit: true, maxLength: 2000))
        var quiet = other.channel("dm-carol")
        quiet.isDirect = true
        let before = model.requests.count
        await router.handle(.messageCreated(IncomingMessage(channel: quiet, author: alice, messageID: "q1",
                                                            text: "Anyone?", mentionsUs: true)), from: other)
        await router.handle(.messageCreated(IncomingMessage(channel: quiet, author: alice, messageID: "q2",
                                                            text: "!pb persona set aria")), from: other)
        #expect(model.requests.count == before)
        #expect(other.sentMessages.last?.text == "Personas do not take direct messages here.")
    }

    @Test func sceneThreadsAreRefusedWhereThePlatformHasNone() async throws {
        let platform = InMemoryPlatform(name: "memory", capabilities: PlatformCapabilities(canEdit: true, maxLength: 2000))
        let moderator = ChatUser(id: "u-mod", displayName: "Mod")
        platform.setModerators([moderator.id])
        let general = platform.channel("general", server: "s1")
        let router = Router(configuration: Self.configuration(), model: FakeModel.echo(), store: try SQLiteStore.inMemory(),
                            platforms: [platform], logger: Logger(label: "test"))
        await router.handle(.messageCreated(IncomingMessage(channel: general, author: moderator, messageID: "c1",
                                                            text: "!pb scene start The heist | aria bolt")), from: platform)
        #expect(platform.sentMessages.last?.text.contains("not supported on memory") == true)
        #expect(BridgeCommand.parse("!pb scene start  The heist | aria, bolt", prefix: "!pb")
                    == .success(.scene(.start(title: "The heist", personas: ["aria", "bolt"]))))
        #expect(BridgeCommand.parse("!pb scene start " + String(repeating: "x", count: 150), prefix: "!pb")
                    == .success(.scene(.start(title: String(repeating: "x", count: 100), personas: []))))
        #expect(BridgeCommand.parse("!pb scene end", prefix: "!pb") == .success(.scene(.end)))
        if case .failure(let error)? = BridgeCommand.parse("!pb scene start | aria", prefix: "!pb") {
            #expect(error.message.contains("Give the scene a title"))
        } else {
            Issue.record("a scene without a title is refused")
        }
    }
}

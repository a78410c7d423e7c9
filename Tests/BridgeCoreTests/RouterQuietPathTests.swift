import BridgeConfig
import Foundation
import Logging
import PBTestSupport
import Storage
import Testing
@testable import BridgeCore

/// Chatter nothing can answer is recorded by the router's pump without a channel worker; everything that might be
/// answered still takes the full path, and history keeps arrival order either way.
@Suite struct RouterQuietPathTests {
    static func router(trigger: TriggerOverrides = .init(), store: SQLiteStore) -> (Router, InMemoryPlatform) {
        let platform = InMemoryPlatform(name: "memory", capabilities: .init(canEdit: true, maxLength: 2000))
        let configuration = RouterConfiguration(
            personas: [Harness.aria, Harness.bolt],
            bindings: [.init(platform: "memory", channelID: "general", personas: ["aria"], trigger: trigger)])
        let router = Router(configuration: configuration, model: FakeModel.echo(), store: store, platforms: [platform],
                            clock: TestClock(), logger: Logger(label: "test"))
        return (router, platform)
    }

    static func message(_ text: String, _ id: String, in channel: ChannelRef, by user: ChatUser = alice,
                        replyTo: String? = nil, mentionsUs: Bool = false) -> PlatformEvent {
        .messageCreated(IncomingMessage(channel: channel, author: user, messageID: id, text: text, replyTo: replyTo,
                                        mentionsUs: mentionsUs))
    }

    @Test func onlyUnaddressedChatterWithCachedSettingsIsQuiet() async throws {
        let (router, platform) = Self.router(store: try SQLiteStore.inMemory())
        let channel = platform.channel("general", server: "s1")
        let chatter = Self.message("just chatting", "m1", in: channel)
        // Settings not read yet: the full path reads (and caches) them.
        #expect(router.quietMessage(chatter) == nil)
        await router.handle(chatter, from: platform)
        #expect(router.quietMessage(Self.message("more chatter", "m2", in: channel))?.messageID == "m2")
        #expect(router.quietMessage(Self.message("  what a day", "m3", in: channel, by: bob))?.text == "  what a day")
        // Anything that may be answered or is a command takes the full path.
        #expect(router.quietMessage(Self.message("hey there", "m4", in: channel, mentionsUs: true)) == nil)
        #expect(router.quietMessage(Self.message("so, Aria?", "m5", in: channel)) == nil)
        #expect(router.quietMessage(Self.message("indeed", "m6", in: channel, replyTo: "m1")) == nil)
        #expect(router.quietMessage(Self.message("!pb persona list", "m7", in: channel)) == nil)
        #expect(router.quietMessage(Self.message("  !PB reset", "m8", in: channel)) == nil)
        #expect(router.quietMessage(.messageDeleted(channel: channel, messageID: "m1")) == nil)
    }

    @Test func aChannelThatSpeaksUnaskedIsNeverQuiet() async throws {
        let (router, platform) = Self.router(trigger: TriggerOverrides(mode: .probability, talkativeness: 0.5),
                                             store: try SQLiteStore.inMemory())
        let channel = platform.channel("general", server: "s1")
        await router.handle(Self.message("just chatting", "m1", in: channel), from: platform)
        #expect(router.quietMessage(Self.message("more chatter", "m2", in: channel)) == nil)
    }

    /// Roleplay lives in threads: a thread's chatter is as quiet as its parent's, by the parent's settings until it
    /// has its own, and a moderator's change to the parent reaches the thread at once.
    @Test func aThreadIsQuietByItsParentsSettingsAndFollowsThemAtOnce() async throws {
        let (router, platform) = Self.router(store: try SQLiteStore.inMemory())
        let general = platform.channel("general", server: "s1")
        var thread = platform.channel("t1", server: "s1")
        thread.parentID = "general"
        #expect(router.quietMessage(Self.message("just chatting", "m1", in: thread)) == nil, "nothing cached yet")
        await router.handle(Self.message("just chatting", "m1", in: thread), from: platform)
        let quiet = try #require(router.quietMessage(Self.message("more chatter", "m2", in: thread)))
        #expect(quiet.channel == Router.key(thread), "the thread keeps its own history")
        #expect(router.quietMessage(Self.message("so, Aria?", "m3", in: thread)) == nil, "the parent's persona, named")
        #expect(router.quietMessage(Self.message("so, Bolt?", "m3", in: thread))?.messageID == "m3", "not the parent's")

        // The parent now speaks unasked: the thread's next chatter is decided by the full path, not by a stale plan.
        try await router.updateSettings(in: general, by: "mod") { $0.triggerMode = "always" }
        #expect(router.quietMessage(Self.message("chatter", "m4", in: thread)) == nil)
        _ = try await router.effectiveSettings(for: thread)
        #expect(router.quietMessage(Self.message("chatter", "m5", in: thread)) == nil, "the parent speaks unasked")

        // Settings of its own: the thread goes by them, whatever the parent does.
        try await router.updateSettings(in: thread, by: "mod") {
            $0.triggerMode = "mention"
            $0.personas = ["bolt"]
        }
        _ = try await router.effectiveSettings(for: thread)
        #expect(router.quietMessage(Self.message("so, Aria?", "m6", in: thread))?.messageID == "m6")
        #expect(router.quietMessage(Self.message("so, Bolt?", "m7", in: thread)) == nil)
    }

    /// A thread with a `[[channels]]` binding of its own but no stored settings mixes its binding with the parent's
    /// settings; the full path decides there.
    @Test func aThreadWithItsOwnBindingButTheParentsSettingsTakesTheFullPath() async throws {
        let platform = InMemoryPlatform(name: "memory", capabilities: .init(canEdit: true, maxLength: 2000))
        let configuration = RouterConfiguration(
            personas: [Harness.aria, Harness.bolt],
            bindings: [.init(platform: "memory", channelID: "general", personas: ["aria"]),
                       .init(platform: "memory", channelID: "own-thread", personas: ["bolt"])])
        let router = Router(configuration: configuration, model: FakeModel.echo(), store: try SQLiteStore.inMemory(),
                            platforms: [platform], clock: TestClock(), logger: Logger(label: "test"))
        var thread = platform.channel("own-thread", server: "s1")
        thread.parentID = "general"
        _ = try await router.effectiveSettings(for: thread)
        #expect(router.quietMessage(Self.message("just chatting", "m1", in: thread)) == nil)
    }

    @Test func floodOfChatterAroundTriggersKeepsHistoryInOrderAndAnswersEachTrigger() async throws {
        let store = try SQLiteStore.inMemory()
        let h = Harness(store: store, model: FakeModel.echo())
        var ids: [String] = []
        var triggers: [String] = []
        for index in 0..<1_500 {
            if index % 500 == 250 {
                let id = h.platform.post("Aria, line \(index)?", by: alice, in: h.channel)
                ids.append(id)
                triggers.append(id)
            } else {
                ids.append(h.platform.post("chatter \(index)", by: index % 2 == 0 ? bob : cara, in: h.channel))
            }
        }
        try await h.waitForSends(triggers.count)
        try await eventually("every event acknowledged") { h.platform.handledEvents.count == ids.count }
        await h.stop()
        #expect(h.router.quietRecorded.load(ordering: .relaxed) > 0, "chatter took the quiet path")
        let history = try await store.recentMessages(in: Router.key(h.channel), limit: 10_000)
            .filter { $0.kind != .persona }.map(\.messageID)
        #expect(history == ids, "history is complete and in arrival order")
        let replyTargets = h.platform.operations.compactMap { op -> String? in
            if case .send(_, _, _, let replyTo, _) = op { return replyTo }
            return nil
        }
        #expect(replyTargets == triggers)
    }
}

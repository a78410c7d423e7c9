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
                            clock: ContinuousClock(), logger: Logger(label: "test"))
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

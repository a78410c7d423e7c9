import BridgeConfig
import Foundation
import Logging
import PBTestSupport
import Storage
import Testing
@testable import BridgeCore
@testable import PlatformDiscord

/// A flood into a bridge whose store stops: the queues between the socket and the store fill to their limits and
/// hold there (the socket waits), and once the store goes on every message lands in history in order.
@Suite("Discord flood")
struct DiscordFloodTests {
    /// The adapter and a router bound to the general channel on `store`, running until the returned task is
    /// cancelled; returns once the gateway is READY.
    static func start(on fake: FakeDiscord, store: any Store) async throws -> (DiscordPlatform, Router, Task<Void, any Error>) {
        var logger = Logger(label: "discord-flood")
        logger.logLevel = .warning
        let configuration = DiscordPlatformConfiguration(
            token: "fake-bot-token", apiBaseURL: fake.apiBase, slashCommands: .off,
            boundChannels: [.init(channelID: World.general, guildID: World.guild)])
        let platform = DiscordPlatform(configuration: configuration, http: fake.http, store: store, logger: logger)
        let router = Router(
            configuration: RouterConfiguration(personas: [DiscordBridge.aria],
                                               bindings: [.init(platform: "discord", channelID: World.general, personas: ["aria"])]),
            model: TimedModel { _ in "unused" }, store: store, platforms: [platform], clock: ContinuousClock(), logger: logger)
        // The test's bridge, a child of nothing: the caller cancels it when done.
        let services = Task {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await platform.run() }
                group.addTask { try await router.run() }
                try await group.next()
                group.cancelAll()
            }
        }
        do {
            try await eventually("READY") { platform.gateway.stats.phase == .ready }
        } catch {
            services.cancel()
            throw error
        }
        return (platform, router, services)
    }

    @Test func floodIntoAStoppedStoreStaysBoundedAndKeepsEverything() async throws {
        let fake = try await FakeDiscord.start(config: ["heartbeat_interval_ms": 30_000])
        defer { fake.stop() }
        let base = try SQLiteStore.inMemory()
        // 50 ms per batch of at most 512: 20,000 messages need at least two seconds of store time.
        let store = SlowStore(base, batchDelay: .milliseconds(50))
        let (platform, router, services) = try await Self.start(on: fake, store: store)
        defer { services.cancel() }

        let count = 20_000
        // The store stops outright: everything between the socket and the store must fill up and then hold.
        store.hold()
        let blast = Task { try await fake.post("gateway/blast", ["count": count, "channel_id": World.general]) }
        let recorderCapacity = HistoryRecorder.Configuration().capacity
        // The queue filled (its reader then waits), and the router took at most one batch more from it before the
        // full recorder stopped it. The reader is woken only once the queue is down to half, so the queue holds
        // between its capacity less one batch and its capacity: a condition of exactly full never held when the
        // router's last batch came after the queue had filled.
        let events = platform.events
        try await eventually("the recorder full, and the adapter's queue filled and held", timeout: .seconds(300), detail: {
            "recorder \(router.recorder.depth) of \(recorderCapacity) (high \(router.recorder.highWaterMark)), "
                + "queue \(events.count) of \(events.capacity) (high \(events.highWaterMark)), store batches \(store.batchSizes)"
        }) {
            router.recorder.depth == recorderCapacity && events.highWaterMark == events.capacity
                && events.count >= events.capacity - Router.batchLimit
        }
        // Held there: after one short settle nothing has grown past its limit (the rest of the flood waits in the
        // socket). The queue's count may still rise to its capacity meanwhile, when the reader was refilling it.
        try await settle()
        #expect(router.recorder.depth == recorderCapacity)
        // Nothing passed its limit, and nothing reached the stopped store.
        #expect(router.recorder.highWaterMark <= recorderCapacity)
        #expect(platform.events.highWaterMark <= platform.events.capacity)
        let channel = ChannelKey(platform: "discord", serverID: World.guild, channelID: World.general)
        #expect(try await base.messageCount(in: channel) == 0, "the store is held: nothing is written")
        store.release()
        let sent = try await blast.value
        #expect(sent["sent"].int == count)
        try await eventually("every message stored", timeout: .seconds(300)) { try await base.messageCount(in: channel) == count }
        #expect(router.recorder.highWaterMark <= recorderCapacity)
        #expect(platform.events.highWaterMark <= platform.events.capacity)
        let stored = try await base.recentMessages(in: channel, limit: 1_000_000)
        #expect(stored.count == count)
        #expect(zip(stored, stored.dropFirst()).allSatisfy { CatchUpMark.less($0.messageID, $1.messageID) },
                "history is in arrival order")
        services.cancel()
        _ = await services.result
    }

    /// A flood moves the catch-up mark after every history batch, a few milliseconds apart; the marks are written in
    /// rounds at least `markRoundSpacing` apart (each is a transaction that takes the write lock from the history
    /// batches), and the last round still reaches the newest message.
    @Test func catchUpMarksAreWrittenInSpacedRoundsAndReachTheNewestMessage() async throws {
        let fake = try await FakeDiscord.start(config: ["heartbeat_interval_ms": 30_000])
        defer { fake.stop() }
        let base = try SQLiteStore.inMemory()
        // Batches that take 20 ms each: 20,000 messages make dozens (at least 10) over a second or so.
        let store = SlowStore(base, batchDelay: .milliseconds(20))
        let (_, _, services) = try await Self.start(on: fake, store: store)
        defer { services.cancel() }
        let channel = ChannelKey(platform: "discord", serverID: World.guild, channelID: World.general)

        let count = 20_000
        let sent = try await fake.post("gateway/blast", ["count": count, "channel_id": World.general])
        #expect(sent["sent"].int == count)
        try await eventually("every message stored", timeout: .seconds(120)) { try await base.messageCount(in: channel) == count }
        let newest = try #require(try await base.recentMessages(in: channel, limit: 1).last?.messageID)
        try await eventually("the mark reaches the newest message", timeout: .seconds(10)) {
            try await base.state(for: DiscordPlatform.lastSeenKey(World.general)) == newest
        }
        let rounds = store.stateRoundTimes
        // At most 2,048 messages a transaction: at least 10 batches.
        #expect(store.batchSizes.count >= 10, "the flood took many batches: \(store.batchSizes.count)")
        #expect(rounds.count >= 2)
        // Fewer rounds than batches, and none closer than the spacing (less a little for the sleep's own timing).
        #expect(rounds.count < store.batchSizes.count, "\(rounds.count) rounds for \(store.batchSizes.count) batches")
        let gaps = zip(rounds, rounds.dropFirst()).map { $0.duration(to: $1) }
        #expect(gaps.allSatisfy { $0 >= DiscordPlatform.markRoundSpacing - .milliseconds(5) }, "gaps \(gaps)")
        services.cancel()
        _ = await services.result
    }

    /// The read loop queues chatter without waking the router until it has handled everything received. The tail of
    /// a flood (100 is not a multiple of the queue's wake-up run) and a lone message after it must still reach history
    /// at once, not with the next payload (here the next heartbeat, 30 s away).
    @Test func theTailOfAFloodAndALoneMessageAreNotHeldBack() async throws {
        let fake = try await FakeDiscord.start(config: ["heartbeat_interval_ms": 30_000])
        defer { fake.stop() }
        let store = try SQLiteStore.inMemory()
        let (_, _, services) = try await Self.start(on: fake, store: store)
        defer { services.cancel() }
        let channel = ChannelKey(platform: "discord", serverID: World.guild, channelID: World.general)

        let sent = try await fake.post("gateway/blast", ["count": 100, "channel_id": World.general])
        #expect(sent["sent"].int == 100)
        try await eventually("the whole flood stored", timeout: .seconds(10)) { try await store.messageCount(in: channel) == 100 }
        try await fake.post("inject/message", ["channel_id": World.general, "content": "anyone here?", "author_id": World.alice])
        try await eventually("the lone message stored", timeout: .seconds(10)) { try await store.messageCount(in: channel) == 101 }
        services.cancel()
        _ = await services.result
    }
}

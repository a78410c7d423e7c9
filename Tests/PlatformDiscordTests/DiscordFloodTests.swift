import BridgeConfig
import Foundation
import Logging
import PBTestSupport
import Storage
import Synchronization
import Testing
@testable import BridgeCore
@testable import PlatformDiscord

/// A flood into a bridge whose store is slow: the queues between the socket and the store stay within their
/// limits, the socket is read more slowly instead, and every message still lands in history in order.
@Suite("Discord flood")
struct DiscordFloodTests {
    @Test func floodIntoASlowStoreStaysBoundedAndKeepsEverything() async throws {
        let fake = try await FakeDiscord.start(config: ["heartbeat_interval_ms": 30_000])
        defer { fake.stop() }
        let base = try SQLiteStore.inMemory()
        // 50 ms per batch of at most 512: 20,000 messages need at least two seconds of store time.
        let store = SlowStore(base, batchDelay: .milliseconds(50))
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
        let services = Task {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await platform.run() }
                group.addTask { try await router.run() }
                try await group.next()
                group.cancelAll()
            }
        }
        defer { services.cancel() }
        try await waitUntil("READY") { platform.gateway.stats.phase == .ready }

        let count = 20_000
        let blastDone = Mutex(false)
        let blast = Task {
            defer { blastDone.withLock { $0 = true } }
            return try await fake.post("gateway/blast", ["count": count, "channel_id": World.general])
        }
        // Sample the queues until the flood has been sent and recorded.
        var maxQueued = 0
        var maxRecorderDepth = 0
        let channel = ChannelKey(platform: "discord", serverID: World.guild, channelID: World.general)
        let deadline = ContinuousClock.now + .seconds(300)
        while ContinuousClock.now < deadline {
            let queued = platform.events.count
            maxQueued = max(maxQueued, queued)
            maxRecorderDepth = max(maxRecorderDepth, router.recorder.depth)
            if blastDone.withLock({ $0 }), try await base.messageCount(in: channel) == count { break }
            try await Task.sleep(for: .milliseconds(5))
        }
        let sent = try await blast.value
        #expect(sent["sent"].int == count)
        #expect(maxQueued <= platform.events.capacity)
        #expect(platform.events.highWaterMark <= platform.events.capacity)
        #expect(maxRecorderDepth <= HistoryRecorder.Configuration().capacity)
        #expect(router.recorder.highWaterMark <= HistoryRecorder.Configuration().capacity)
        // The slow store pushed back all the way: the recorder's buffer and then the adapter's queue filled, so
        // the gateway read loop waited (and the socket with it) instead of the flood piling up in memory.
        #expect(maxRecorderDepth == HistoryRecorder.Configuration().capacity, "the recorder never filled: \(maxRecorderDepth)")
        #expect(maxQueued == platform.events.capacity, "the adapter's event queue never filled: \(maxQueued)")
        let stored = try await base.recentMessages(in: channel, limit: 1_000_000)
        #expect(stored.count == count)
        #expect(zip(stored, stored.dropFirst()).allSatisfy { DiscordPlatform.snowflakeLess($0.messageID, $1.messageID) },
                "history is in arrival order")
        services.cancel()
        _ = await services.result
    }
}

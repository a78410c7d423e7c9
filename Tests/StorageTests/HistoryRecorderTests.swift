import Foundation
import Logging
import PBTestSupport
import Storage
import Synchronization
import Testing

/// Group commit: ordering, backpressure and the priority of claims and reply rows over chatter.
@Suite("History recorder")
struct HistoryRecorderTests {
    static let channels = (0..<5).map { ChannelKey(platform: "discord", serverID: "guild-1", channelID: "flood-\($0)") }

    static func chatter(_ index: Int) -> StoredMessage {
        StoredMessage(channel: channels[index % channels.count], messageID: "m\(index)", speakerID: "u\(index % 7)",
                      speakerName: "User \(index % 7)", kind: .human, text: "chatter line \(index)",
                      timestamp: Date(timeIntervalSince1970: 1_700_000_000 + Double(index / 100)))
    }

    @Test("a 100,000-message flood leaves every message in history, in order, in batches", arguments: StoreBackend.persistent)
    func floodKeepsEveryMessageInOrder(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store in
            let recorder = HistoryRecorder(store: store, logger: Logger(label: "test"))
            let configuration = HistoryRecorder.Configuration()
            let total = 100_000
            let acked = Mutex(0)
            for index in 0..<total {
                await recorder.record(Self.chatter(index)) { acked.withLock { $0 += 1 } }
            }
            await recorder.flush()
            #expect(recorder.droppedCount == 0)
            #expect(acked.withLock { $0 } == total, "every ack ran once its message was committed")
            #expect(recorder.batchesWritten >= total / configuration.maxTransaction)
            #expect(recorder.batchesWritten < total / 4, "messages were grouped, not written one by one")
            #expect(recorder.highWaterMark <= configuration.capacity)
            for (offset, channel) in Self.channels.enumerated() {
                let stored = try await store.recentMessages(in: channel, limit: 1_000_000)
                let expected = stride(from: offset, to: total, by: Self.channels.count).map { "m\($0)" }
                #expect(stored.count == expected.count)
                #expect(stored.map(\.messageID) == expected, "history of \(channel) is complete and in arrival order")
            }
        }
    }

    @Test("a slowed store makes recorders wait: the buffer never grows past its capacity, and nothing is lost")
    func slowStoreBoundsTheBuffer() async throws {
        try await withStore(.sqliteInMemory) { base in
            let store = SlowStore(base, batchDelay: .milliseconds(5))
            let configuration = HistoryRecorder.Configuration(maxBatch: 64, maxDelay: .milliseconds(5), capacity: 256)
            let recorder = HistoryRecorder(store: store, configuration: configuration, logger: Logger(label: "test"))
            let total = 10_000
            let sampledMax = Mutex(0)
            for index in 0..<total {
                await recorder.record(Self.chatter(index))
                let depth = recorder.depth
                sampledMax.withLock { $0 = max($0, depth) }
            }
            // The producer outran the store by far, so it must have been held back at the capacity.
            #expect(recorder.highWaterMark == configuration.capacity)
            #expect(sampledMax.withLock { $0 } <= configuration.capacity)
            await recorder.flush()
            #expect(recorder.depth == 0)
            var count = 0
            for channel in Self.channels { count += try await base.messageCount(in: channel) }
            #expect(count == total)
        }
    }

    @Test("an idle writer starts at maxBatch messages; one that fell behind takes what waits, up to maxTransaction")
    func transactionsGrowOnlyWhileTheWriterIsBehind() async throws {
        try await withStore(.sqliteInMemory) { base in
            let store = SlowStore(base, batchDelay: .zero)
            // The delay is an hour: only the count starts a write.
            let configuration = HistoryRecorder.Configuration(maxBatch: 64, maxDelay: .seconds(3_600), capacity: 1_024,
                                                              maxTransaction: 256)
            let recorder = HistoryRecorder(store: store, configuration: configuration, logger: Logger(label: "test"))
            for index in 0..<64 { await recorder.record(Self.chatter(index)) }
            try await eventually("the 64th message to start a write") { recorder.batchesWritten == 1 }
            #expect(store.batchSizes == [64], "an idle writer writes what starts it, no more")

            // The writer stops while 700 more arrive: they wait, then go in transactions of at most 256, the first
            // ones full.
            store.hold()
            for index in 64..<128 { await recorder.record(Self.chatter(index)) }
            try await eventually("the held batch to reach the store") { store.batchSizes.count == 2 }
            for index in 128..<764 { await recorder.record(Self.chatter(index)) }
            store.release()
            await recorder.flush()
            let sizes = store.batchSizes
            #expect(sizes.prefix(2) == [64, 64])
            #expect(Array(sizes.dropFirst(2)) == [256, 256, 124], "what waited behind the stopped writer: \(sizes)")
            var count = 0
            for channel in Self.channels { count += try await base.messageCount(in: channel) }
            #expect(count == 764)
        }
    }

    @Test("recordIfRoom buffers without waiting until the capacity is reached, then refuses; order holds across both ways in")
    func recordIfRoomStopsAtTheCapacity() async throws {
        try await withStore(.sqliteInMemory) { base in
            let store = SlowStore(base, batchDelay: .milliseconds(20))
            let configuration = HistoryRecorder.Configuration(maxBatch: 16, maxDelay: .milliseconds(5), capacity: 64)
            let recorder = HistoryRecorder(store: store, configuration: configuration, logger: Logger(label: "test"))
            var index = 0
            while recorder.recordIfRoom(Self.chatter(index)) { index += 1 }
            // Refused only once full (the slowed store may have made room meanwhile, so maybe after more).
            #expect(index >= configuration.capacity)
            #expect(recorder.highWaterMark == configuration.capacity)
            // The waiting way in takes the next one once the slowed store makes room.
            await recorder.record(Self.chatter(index))
            index += 1
            await recorder.flush()
            var stored: [String] = []
            for channel in Self.channels { stored += try await base.recentMessages(in: channel, limit: 1_000).map(\.messageID) }
            #expect(Set(stored) == Set((0..<index).map { "m\($0)" }) && stored.count == index)
            let first = try await base.recentMessages(in: Self.channels[0], limit: 1_000).map(\.messageID)
            #expect(first == stride(from: 0, to: index, by: Self.channels.count).map { "m\($0)" })
        }
    }

    @Test("claims and reply rows do not queue behind a chatter flood: each waits for at most the batch being written")
    func claimsOvertakeChatter() async throws {
        try await withStore(.sqliteInMemory) { base in
            // One writer at a time, 40 ms per chatter batch: the full buffer takes 16 batches to drain.
            let store = SlowStore(base, batchDelay: .milliseconds(40))
            let configuration = HistoryRecorder.Configuration(maxBatch: 64, maxDelay: .milliseconds(5), capacity: 1_024)
            let recorder = HistoryRecorder(store: store, configuration: configuration, logger: Logger(label: "test"))
            for index in 0..<configuration.capacity { await recorder.record(Self.chatter(index)) }
            let channel = Self.channels[0]
            for answer in 0..<4 {
                #expect(try await store.claimAnswer(channel: channel, messageID: "m\(answer * 5)"))
                try await store.recordReply(ReplyRecord(replyID: "r\(answer)", channel: channel, personaName: "aria",
                                                        triggerMessageID: "m\(answer * 5)", messageIDs: ["r\(answer)"],
                                                        createdAt: Date(), wasCutOff: false))
            }
            // The writer lock is first come, first served, as SQLite's one writer connection is. The recorder keeps
            // at most one chatter batch at the writer, so a claim or a reply row waits for that batch at most, never
            // for the buffered flood behind it. (Counted, not timed: how much of the flood drained meanwhile depends
            // on how loaded the machine is.)
            #expect(store.maxPendingBatches == 1, "chatter batches queued at the writer: \(store.maxPendingBatches)")
            await recorder.flush()
            #expect(store.maxPendingBatches == 1)
            #expect(try await base.messageCount(in: channel) == configuration.capacity / Self.channels.count + 1)
        }
    }

    @Test("flush writes at once and acks run in recording order, whenCommitted after earlier records")
    func acksRunInOrder() async throws {
        try await withStore(.sqliteInMemory) { store in
            let configuration = HistoryRecorder.Configuration(maxBatch: 512, maxDelay: .seconds(3_600), capacity: 4_096)
            let recorder = HistoryRecorder(store: store, configuration: configuration, logger: Logger(label: "test"))
            let order = Mutex<[String]>([])
            await recorder.whenCommitted { order.withLock { $0.append("idle") } }
            #expect(order.withLock { $0 } == ["idle"], "with nothing buffered an ack runs at once")
            await recorder.record(Self.chatter(0)) { order.withLock { $0.append("m0") } }
            await recorder.whenCommitted { order.withLock { $0.append("after-m0") } }
            await recorder.record(Self.chatter(1)) { order.withLock { $0.append("m1") } }
            #expect(order.withLock { $0 } == ["idle"], "nothing acknowledged before the commit")
            // The batch delay is an hour: only flush can have written it.
            await recorder.flush()
            #expect(order.withLock { $0 } == ["idle", "m0", "after-m0", "m1"])
            let stored = try await store.message(in: Self.channels[1], messageID: "m1")
            #expect(stored != nil)
        }
    }
}

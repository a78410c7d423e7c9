import Foundation
import GRDB
import PBTestSupport
import Testing

@testable import Storage

/// A file store writes history batches on the caller's thread, through a connection that never waits.
@Suite("HistoryBatchConnection")
struct HistoryBatchConnectionTests {
    @Test("a file store's batch is committed by the history connection, with the writer's durability settings")
    func batchesGoThroughTheHistoryConnection() async throws {
        let directory = try TemporaryDirectory()
        defer { try? directory.remove() }
        let store = try await SQLiteStore.open(.file(path: directory.file("bridge.sqlite")))
        let connection = try #require(store.historyConnection)
        #expect(try connection.pragma("synchronous") == "1", "1 is NORMAL, as on the writer")
        #expect(try connection.pragma("foreign_keys") == "1")
        let results = try await store.insert(contentsOf: (0..<50).map { humanMessage("m\($0)", at: Int64($0)) })
        #expect(results.allSatisfy { $0.inserted })
        #expect(connection.batchesCommitted == 1)
        #expect(try await store.recentMessages(in: general, limit: 100).map(\.messageID) == (0..<50).map { "m\($0)" })
        try await store.close()
    }

    @Test("an in-memory store has no history connection (a second one would open another database)")
    func inMemoryStoreWritesThroughTheWriter() async throws {
        let store = try await SQLiteStore.open(.inMemory)
        #expect(store.historyConnection == nil)
        try await store.insert(contentsOf: [humanMessage("m1", at: 1)])
        #expect(try await store.messageCount(in: general) == 1)
        try await store.close()
    }

    @Test("while another connection holds the write lock, a batch waits on the writer's queue, not on the caller's thread")
    func heldLockSendsTheBatchThroughTheWriter() async throws {
        let directory = try TemporaryDirectory()
        defer { try? directory.remove() }
        let path = directory.file("bridge.sqlite")
        let store = try await SQLiteStore.open(.file(path: path))
        let connection = try #require(store.historyConnection)
        // Another process's writer, holding the lock for a while (across accesses, which GRDB allows only when asked).
        var configuration = Configuration()
        configuration.allowsUnsafeTransactions = true
        let other = try DatabaseQueue(path: path, configuration: configuration)
        let release = try other.holdWriteLock()
        let batch = Task { try await store.insert(contentsOf: [humanMessage("m1", at: 1), humanMessage("m2", at: 2)]) }
        try await eventually("the batch waiting on the writer") { store.writesWaiting.load(ordering: .relaxed) == 1 }
        #expect(try await store.messageCount(in: general) == 0, "the lock is still held")
        try release()
        let results = try await batch.value
        #expect(results.map(\.inserted) == [true, true])
        #expect(connection.batchesCommitted == 0, "the history connection gave the batch to the writer")
        #expect(try await store.messageCount(in: general) == 2)
        // With the lock free again, the next batch is the connection's.
        try await store.insert(contentsOf: [humanMessage("m3", at: 3)])
        #expect(connection.batchesCommitted == 1)
        try other.close()
        try await store.close()
    }

    @Test("a batch that comes while a claim waits for the writer queues behind it instead of taking the lock first")
    func batchesDoNotOvertakeWaitingWrites() async throws {
        let directory = try TemporaryDirectory()
        defer { try? directory.remove() }
        let store = try await SQLiteStore.open(.file(path: directory.file("bridge.sqlite")))
        let connection = try #require(store.historyConnection)
        // The writer is busy with other work (holding its queue, not the lock), and a claim waits behind it.
        let gate = DispatchSemaphore(value: 0)
        let writer = store.writer
        DispatchQueue.global().async { writer.writeWithoutTransaction { _ in gate.wait() } }
        let claim = Task { try await store.claimAnswer(channel: general, messageID: "m1") }
        try await eventually("the claim waiting for the writer") { store.writesWaiting.load(ordering: .relaxed) == 1 }
        let batch = Task { try await store.insert(contentsOf: [humanMessage("m1", at: 1), humanMessage("m2", at: 2)]) }
        try await eventually("the batch queued on the writer behind the claim") { store.writesWaiting.load(ordering: .relaxed) == 2 }
        #expect(try await store.messageCount(in: general) == 0, "the batch waits behind the claim")
        gate.signal()
        #expect(try await claim.value)
        #expect(try await batch.value.map(\.inserted) == [true, true])
        #expect(connection.batchesCommitted == 0, "the batch went through the writer, after the claim")
        try await store.insert(contentsOf: [humanMessage("m3", at: 3)])
        #expect(connection.batchesCommitted == 1, "with nothing waiting, the next batch is the connection's again")
        try await store.close()
    }

    @Test("a connection that finds the lock taken retries every 0.2 ms at first, then less often, for 10 s in all")
    func busyRetriesAreFineFirstAndLastTenSeconds() {
        let delays = Array((0...).lazy.map(SQLiteStore.busyDelay(afterTries:)).prefix { $0 != nil }.compactMap { $0 })
        #expect(delays.prefix(250).allSatisfy { $0 == 200 }, "a history batch holds the lock for a few ms")
        #expect(delays.reduce(0) { $0 + Int($1) } == 10_000_000, "as long as the 10 s busy timeout it replaces")
        #expect(delays == delays.sorted(), "never finer again once coarser")
    }

    @Test("the WAL the history connection grows is checkpointed into the database as batches go on")
    func historyBatchesAreCheckpointed() async throws {
        let directory = try TemporaryDirectory()
        defer { try? directory.remove() }
        let path = directory.file("bridge.sqlite")
        let store = try await SQLiteStore.open(.file(path: path))
        let text = String(repeating: "a line of chatter that fills the page ", count: 6)
        // About 14 MB of rows and index entries: without checkpoints the WAL would hold all of it.
        for batch in 0..<40 {
            let messages = (0..<1_000).map { index in
                humanMessage("m\(batch)-\(index)", text: text, at: Int64(batch * 1_000 + index))
            }
            try await store.insert(contentsOf: messages)
        }
        let walBytes = try #require(FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as? Int)
        let databaseBytes = try #require(FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
        #expect(walBytes < 8_000_000, "the WAL is reset after checkpoints: \(walBytes) bytes")
        #expect(databaseBytes > 8_000_000, "the checkpoints moved the rows into the database: \(databaseBytes) bytes")
        #expect(try await store.messageCount(in: general) == 40_000)
        try await store.close()
    }
}

extension DatabaseQueue {
    /// Starts an immediate transaction (taking the write lock) that lasts until the returned function commits it.
    fileprivate func holdWriteLock() throws -> () throws -> Void {
        try writeWithoutTransaction { db in try db.execute(sql: "BEGIN IMMEDIATE") }
        return { [self] in try writeWithoutTransaction { db in try db.execute(sql: "COMMIT") } }
    }
}

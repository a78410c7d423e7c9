import Foundation
import GRDB
internal import GRDBSQLite
import Synchronization

/// A second connection to a file store that writes history batches on the calling task's thread.
///
/// Handing every batch to GRDB's writer thread and back cost two thread switches per batch, and a third busy
/// thread for the scheduler to place on two cores. Over 8 interleaved runs each of a 300,000-message flood, writing
/// the batch where the recorder runs took the bridge from 173,300 to 184,400 events/s.
///
/// It never waits, so it never holds up the cooperative pool for longer than its own work:
/// - no other task uses this connection: the recorder writes one batch at a time;
/// - the transaction starts only when the write lock is free at once (busy mode `immediateError`). When GRDB's
///   writer or another process holds it, `write` returns nil and the batch goes the usual way, through the
///   writer's queue, which does wait;
/// - the store uses it only while no write waits for the writer (`SQLiteStore.writesWaiting`): batches back to back
///   would otherwise take the lock first every time, and a claim waited 34 ms instead of one batch;
/// - it never checkpoints: a checkpoint syncs the WAL and the database file to disk. Its commits count the WAL's
///   frames instead, and `checkpointDue` tells the store to checkpoint on the writer's thread, as SQLite's
///   automatic checkpoint would have at 1,000 frames.
///
/// A batch is at most `HistoryRecorder.Configuration.maxTransaction` rows (2,048 by default, about 7 ms).
final class HistoryBatchConnection: Sendable {
    /// WAL frames after which a checkpoint is due (SQLite's own automatic checkpoint threshold).
    static let checkpointFrames: Int32 = 1_000

    private let queue: DatabaseQueue
    /// The WAL's frame count after this connection's last commit (set by the WAL hook, read by the store).
    private let frames: WALFrameCount
    private let committed = Atomic<Int>(0)

    /// Opens the connection to a database the store's writer has opened and migrated (in WAL mode).
    init(path: String, prepare: @escaping @Sendable (Database) throws -> Void) throws {
        var configuration = Configuration()
        configuration.label = "persona-bridge.storage.history"
        configuration.foreignKeysEnabled = true
        configuration.busyMode = .immediateError
        configuration.prepareDatabase(prepare)
        let frames = WALFrameCount()
        queue = try DatabaseQueue(path: path, configuration: configuration)
        queue.writeWithoutTransaction { db in
            // Replaces the automatic checkpoint (itself a WAL hook) on this connection. The hook runs only after a
            // commit, so never once the connection (and with it `frames`) is gone.
            _ = sqlite3_wal_hook(db.sqliteConnection, { context, _, _, frameCount in
                guard let context else { return SQLITE_OK }
                Unmanaged<WALFrameCount>.fromOpaque(context).takeUnretainedValue().value.store(frameCount, ordering: .relaxed)
                return SQLITE_OK
            }, Unmanaged.passUnretained(frames).toOpaque())
        }
        self.frames = frames
    }

    /// Whether the WAL has grown past `checkpointFrames` since this connection's last commit.
    var checkpointDue: Bool { frames.value.load(ordering: .relaxed) >= Self.checkpointFrames }

    /// Batches committed through this connection (the others went through the writer's queue).
    var batchesCommitted: Int { committed.load(ordering: .relaxed) }

    /// Runs `body` in one transaction on this thread; nil, having done nothing, when the write lock is taken.
    func write<T>(_ body: (Database) throws -> T) throws -> T? {
        let result = try Self.writeNow(queue, body)
        if result != nil { committed.add(1, ordering: .relaxed) }
        return result
    }

    /// A pragma's value on this connection (for tests and diagnostics).
    func pragma(_ name: String) throws -> String? {
        precondition(name.allSatisfy { $0.isLetter || $0 == "_" }, "not a pragma name: \(name)")
        return try queue.read { db in try String.fetchOne(db, sql: "PRAGMA \(name)") }
    }

    /// Closes the connection (after any batch in progress).
    func close() throws {
        try queue.close()
    }

    // Not async: GRDB's synchronous access is unavailable from async code, and here it is meant, since the
    // connection never waits for a lock.
    private static func writeNow<T>(_ queue: DatabaseQueue, _ body: (Database) throws -> T) throws -> T? {
        try queue.writeWithoutTransaction { db -> T? in
            do {
                try db.execute(sql: "BEGIN IMMEDIATE")
            } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY {
                return nil
            }
            do {
                let result = try body(db)
                try db.execute(sql: "COMMIT")
                return result
            } catch {
                if db.isInsideTransaction { try? db.execute(sql: "ROLLBACK") }
                throw error
            }
        }
    }
}

/// The WAL hook's context: kept alive by the connection that installed the hook.
private final class WALFrameCount: Sendable {
    let value = Atomic<Int32>(0)
}

import Foundation
import GRDB
import Logging
import Synchronization

/// The default `Store`: SQLite through GRDB, in WAL mode with versioned migrations.
///
/// A file store uses a `DatabasePool` (one writer, concurrent readers); the in-memory store,
/// for tests, uses a `DatabaseQueue`. Database work runs on GRDB's own threads, so the async
/// methods do not block the cooperative pool. The exception is a file store's history batch
/// (`insert(contentsOf:)`), written on the caller's thread by a connection that never waits for a
/// lock (see `HistoryBatchConnection`).
public final class SQLiteStore: Store {
    /// Where the database lives.
    public enum Location: Sendable, Hashable, CustomStringConvertible {
        /// A file; its directory is created when missing.
        case file(path: String)
        /// A private in-memory database that disappears on `close()`.
        case inMemory

        /// The path, or `:memory:`.
        public var description: String {
            switch self {
            case .file(let path): path
            case .inMemory: ":memory:"
            }
        }
    }

    /// Where this store's database lives.
    public let location: Location
    let writer: any DatabaseWriter
    /// A file store's connection for history batches, which writes them on the calling task's thread.
    let historyConnection: HistoryBatchConnection?
    /// Writes handed to the writer and not yet done. While one waits, a history batch queues behind it on the
    /// writer instead of taking the lock first: batches written back to back by the history connection kept a
    /// claim waiting 34 ms (p50) where it waited 1.2 ms behind the writer's queue.
    let writesWaiting = Atomic<Int>(0)
    let logger: Logger
    private let closedFlag = ClosedFlag()
    /// Row ids of committed channel rows, which never change or go away: a history batch spread over many
    /// channels looked each one up again in every transaction.
    let channelRows = ChannelRowCache()

    /// Opens (creating when needed) and migrates the database. This does blocking file I/O:
    /// call it at startup or prefer `open(_:logger:)` from async code.
    public init(_ location: Location, logger: Logger = Logger(label: "persona-bridge.storage")) throws {
        var logger = logger
        logger[metadataKey: "store"] = "\(location)"
        self.location = location
        self.logger = logger
        let writer = try Self.openWriter(location, logger: logger)
        self.writer = writer
        switch location {
        case .file(let path):
            do {
                historyConnection = try HistoryBatchConnection(path: path, prepare: Self.prepareConnection)
            } catch {
                try? writer.close()
                throw StorageError(mapping: error, location: path, while: "opening the history connection")
            }
        case .inMemory:
            // A second connection to a private in-memory database would open another, empty database.
            historyConnection = nil
        }
    }

    /// Opens (creating when needed) and migrates the database off the cooperative pool.
    public static func open(
        _ location: Location, logger: Logger = Logger(label: "persona-bridge.storage")
    ) async throws -> SQLiteStore {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Result { try SQLiteStore(location, logger: logger) })
            }
        }
    }

    /// Opens a fresh private in-memory database.
    public static func inMemory(logger: Logger = Logger(label: "persona-bridge.storage")) throws -> SQLiteStore {
        try SQLiteStore(.inMemory, logger: logger)
    }

    /// Whether a connection that found the database locked tries again, after sleeping: 0.2 ms for the first 50 ms,
    /// 1 ms until 300 ms, then 10 ms, giving up after 10 s. SQLite's own busy timeout sleeps 1, 2, 5, 10, 15 ms …
    /// between tries, so a claim that met a history batch (held for a few ms) waited up to twice as long as the
    /// batch.
    @Sendable static func retryWhileBusy(_ tries: Int) -> Bool {
        guard let delay = busyDelay(afterTries: tries) else { return false }
        usleep(delay)
        return true
    }

    /// The sleep in microseconds before the next try, after `tries` tries; nil to give up.
    static func busyDelay(afterTries tries: Int) -> UInt32? {
        switch tries {
        case ..<250: 200
        case ..<500: 1_000
        case ..<1_470: 10_000
        default: nil
        }
    }

    /// Settings every connection of the store gets when it opens.
    @Sendable static func prepareConnection(_ db: Database) throws {
        try db.execute(sql: "PRAGMA synchronous = NORMAL")
        try db.execute(sql: "PRAGMA cache_size = -512")
    }

    private static func openWriter(_ location: Location, logger: Logger) throws -> any DatabaseWriter {
        var configuration = Configuration()
        configuration.label = "persona-bridge.storage"
        configuration.foreignKeysEnabled = true
        // The history connection holds the lock for a batch (a few ms), and another process (a second bridge, a
        // backup tool) may hold it briefly: retried for up to 10 s, finely at first (see `retryWhileBusy`).
        configuration.busyMode = .callback(retryWhileBusy)
        // synchronous=NORMAL: in WAL mode a commit survives a process crash (kill -9) without an
        // fsync, which is what lets group-committed chatter keep up with a flood. A power loss may
        // roll back the last unsynced commits, so the writes whose loss would make the bot answer
        // twice (claims, reply rows) go through `durableWrite`, which syncs the WAL at their commit.
        configuration.prepareDatabase(prepareConnection)
        configuration.maximumReaderCount = 2

        switch location {
        case .inMemory:
            let queue: DatabaseQueue
            do {
                queue = try DatabaseQueue(configuration: configuration)
            } catch {
                throw StorageError(mapping: error, location: location.description, while: "opening the database")
            }
            return try prepareSchema(queue, location: location, logger: logger)
        case .file(let path):
            try createParentDirectory(of: path)
            // Two stores opening a fresh file at once would race to switch it to WAL mode (which
            // fails with SQLITE_BUSY without calling the busy handler) and to run the same
            // migration; a lock on the directory makes opens take turns, across processes too.
            return try withDirectoryLock(for: path) {
                let pool: DatabasePool
                do {
                    // Switching to WAL mode reads the header: a non-database fails here.
                    pool = try DatabasePool(path: path, configuration: configuration)
                    // Only the writer's setting decides whether a commit is synced; state it explicitly.
                    try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = NORMAL") }
                } catch {
                    throw StorageError(mapping: error, location: path, while: "opening the database")
                }
                return try prepareSchema(pool, location: location, logger: logger)
            }
        }
    }

    /// Checks the schema is readable and not from a newer version, then applies migrations.
    private static func prepareSchema(
        _ writer: any DatabaseWriter, location: Location, logger: Logger
    ) throws -> any DatabaseWriter {
        do {
            try writer.read { db in
                // Reading the schema detects damage beyond the header before migrating.
                _ = try Int.fetchOne(db, sql: "SELECT count(*) FROM sqlite_master")
            }
            let migrator = Self.migrator
            let superseded = try writer.read { db in try migrator.hasBeenSuperseded(db) }
            if superseded {
                throw StorageError(
                    code: .migrationFailed,
                    message: "the database was written by a newer version of persona-bridge; refusing to use it",
                    location: location.description)
            }
            let before = try writer.read { db in try migrator.appliedMigrations(db) }
            do {
                try migrator.migrate(writer)
            } catch {
                throw StorageError(mapping: error, location: location.description, while: "migrating the schema",
                                   defaultCode: .migrationFailed)
            }
            let after = try writer.read { db in try migrator.appliedMigrations(db) }
            let applied = after.filter { !before.contains($0) }
            if applied.isEmpty {
                logger.debug("storage opened", metadata: ["schema": "\(after.last ?? "none")"])
            } else {
                logger.info("storage migrated", metadata: ["applied": "\(applied.joined(separator: ","))"])
            }
        } catch {
            try? writer.close()
            throw StorageError(mapping: error, location: location.description, while: "opening the database")
        }
        return writer
    }

    private static func createParentDirectory(of path: String) throws {
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) {
            if isDirectory.boolValue { return }
            throw StorageError(code: .cannotOpen, message: "the parent path exists but is not a directory",
                               location: path)
        }
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw StorageError(code: .cannotOpen, message: "cannot create the database directory \(directory)",
                               location: path, underlying: "\(error)")
        }
    }

    // MARK: Access helpers

    /// Runs `body` in a read transaction, mapping errors to `StorageError`.
    func read<T: Sendable>(_ what: @autoclosure () -> String, _ body: @Sendable (Database) throws -> T) async throws -> T {
        try checkOpen()
        do {
            return try await writer.read(body)
        } catch {
            throw mappedError(error, while: what())
        }
    }

    /// Runs `body` in a write transaction, mapping errors to `StorageError`.
    func write<T: Sendable>(_ what: @autoclosure () -> String, _ body: @Sendable (Database) throws -> T) async throws -> T {
        try checkOpen()
        writesWaiting.add(1, ordering: .relaxed)
        defer { writesWaiting.subtract(1, ordering: .relaxed) }
        do {
            return try await writer.write(body)
        } catch {
            throw mappedError(error, while: what())
        }
    }

    /// Like `write`, but the commit syncs the WAL to disk (synchronous=FULL for this transaction), which
    /// also makes every earlier commit durable: for claims and reply rows, which must survive a power loss.
    func durableWrite<T: Sendable>(_ what: @autoclosure () -> String, _ body: @Sendable (Database) throws -> T) async throws -> T {
        try checkOpen()
        guard case .file = location else { return try await write(what(), body) }
        writesWaiting.add(1, ordering: .relaxed)
        defer { writesWaiting.subtract(1, ordering: .relaxed) }
        do {
            return try await writer.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA synchronous = FULL")
                defer { try? db.execute(sql: "PRAGMA synchronous = NORMAL") }
                var result: T?
                try db.inTransaction {
                    result = try body(db)
                    return .commit
                }
                guard let result else { throw DatabaseError(resultCode: .SQLITE_INTERNAL, message: "transaction body did not run") }
                return result
            }
        } catch {
            throw mappedError(error, while: what())
        }
    }

    func checkOpen() throws {
        if closedFlag.isClosed {
            throw StorageError(code: .closed, message: "the store is closed", location: location.description)
        }
    }

    func mappedError(_ error: any Error, while what: String) -> any Error {
        if error is CancellationError { return error }
        if let callerError = error as? CallerError { return callerError.error }
        if closedFlag.isClosed {
            // close() won the race with this call; GRDB reports that as misuse.
            return StorageError(code: .closed, message: "the store was closed during \(what)",
                                location: location.description)
        }
        let mapped = StorageError(mapping: error, location: location.description, while: what)
        logger.error("storage operation failed", metadata: ["operation": "\(what)", "error": "\(mapped)"])
        return mapped
    }

    // MARK: Maintenance

    /// Names of the schema migrations applied, in order.
    public func appliedMigrations() async throws -> [String] {
        let migrator = Self.migrator
        return try await read("reading applied migrations") { db in try migrator.appliedMigrations(db) }
    }

    /// Runs `PRAGMA integrity_check` and `PRAGMA foreign_key_check`.
    public func integrityCheck() async throws {
        let problems = try await read("checking integrity") { db -> [String] in
            let integrity = try String.fetchAll(db, sql: "PRAGMA integrity_check")
            var problems = integrity == ["ok"] ? [] : integrity
            let foreignKeyViolations = try Row.fetchAll(db, sql: "PRAGMA foreign_key_check")
            for row in foreignKeyViolations {
                let table: String = row[0]
                let parent: String = row[2]
                problems.append("foreign key violation in \(table) referencing \(parent)")
            }
            return problems
        }
        if !problems.isEmpty {
            logger.error("storage integrity check failed", metadata: ["problems": "\(problems.count)"])
            throw StorageError(code: .integrityCheckFailed, message: problems.joined(separator: "; "),
                               location: location.description)
        }
    }

    /// Checkpoints the WAL into the main file (best effort) and closes every connection.
    public func close() async throws {
        guard closedFlag.close() else { return }
        let writer = self.writer
        let historyConnection = self.historyConnection
        let location = self.location
        let logger = self.logger
        // Closing waits for in-flight work on GRDB's queues; keep that wait off the pool.
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            DispatchQueue.global().async {
                continuation.resume(with: Result {
                    do {
                        try historyConnection?.close()
                        if case .file = location {
                            // Leaves one self-contained file for backups. Commits are already
                            // in the WAL (which survives a process crash), so a failed checkpoint (another
                            // process still reading) does not fail the close.
                            do {
                                _ = try writer.writeWithoutTransaction { db in try db.checkpoint(.truncate) }
                            } catch {
                                logger.warning("storage checkpoint before close failed", metadata: ["error": "\(error)"])
                            }
                        }
                        try writer.close()
                        logger.debug("storage closed")
                    } catch {
                        throw StorageError(mapping: error, location: location.description, while: "closing")
                    }
                })
            }
        }
    }
}

/// Carries an error thrown by a caller's closure through the transaction, so it is rethrown
/// unchanged instead of being reported as a database failure.
struct CallerError: Error {
    let error: any Error
}

/// A one-way open → closed switch shared by concurrent callers.
private final class ClosedFlag: Sendable {
    private let closed = Mutex(false)

    var isClosed: Bool {
        closed.withLock { $0 }
    }

    /// Marks the flag closed; `true` only for the call that closed it.
    func close() -> Bool {
        closed.withLock { closed in
            if closed { return false }
            closed = true
            return true
        }
    }
}

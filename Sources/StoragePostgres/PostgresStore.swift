import Foundation
import Logging
import ServiceLifecycle
import Storage
import Synchronization
internal import PostgresNIO

/// A `Store` on PostgreSQL through postgres-nio, for deployments where several bridge
/// processes (for example one per Discord shard) share one database.
///
/// Every claim is a primary-key INSERT, so exactly one process wins it; read-modify-write
/// updates lock the channel row. Migrations carry the same names as `SQLiteStore`'s and are
/// recorded in `pb_schema_migrations`; concurrent first starts take turns on an advisory lock.
///
/// The connection pool serves queries only while `run()` runs: the store is a `Service`, placed in the group
/// before whatever closes it, so the pool stops after the store is closed.
public final class PostgresStore: Store, Service {
    /// Where this store connects (printable: it holds no password).
    public let configuration: PostgresStoreConfiguration
    let client: PostgresClient
    let logger: Logger
    private let closed = Mutex(false)
    /// Finished by `close()`, which ends `run()`.
    private let closing: AsyncStream<Void>
    private let closingInput: AsyncStream<Void>.Continuation

    private init(configuration: PostgresStoreConfiguration, client: PostgresClient, logger: Logger) {
        self.configuration = configuration
        self.client = client
        self.logger = logger
        (closing, closingInput) = AsyncStream.makeStream(of: Void.self)
    }

    /// Runs the connection pool until the store is closed or the task is cancelled; run it once. A graceful
    /// shutdown does not end it: whoever owns the store closes it once nothing writes any more.
    public func run() async {
        await withDiscardingTaskGroup { group in
            group.addTask { await self.client.run() }
            // An AsyncStream's iteration also ends when the task is cancelled.
            for await _ in closing {}
            group.cancelAll()
        }
    }

    /// Connects and applies pending migrations; queries wait until `run()` serves the connection pool.
    ///
    /// Fails with `StorageError` `.cannotOpen` when the server cannot be reached or refuses the
    /// login, and `.migrationFailed` when the schema is newer than this version knows.
    public static func open(
        _ configuration: PostgresStoreConfiguration, logger: Logger = Logger(label: "persona-bridge.storage")
    ) async throws -> PostgresStore {
        var logger = logger
        logger[metadataKey: "store"] = "\(configuration)"
        let location = configuration.description
        let connection: PostgresConnection
        do {
            // One direct connection first: it fails fast (the pool would retry forever), and
            // migrations need a session of their own for the advisory lock.
            connection = try await PostgresConnection.connect(
                configuration: try configuration.connectionConfiguration(), id: 0, logger: Self.quietLogger)
        } catch let error as StorageError {
            throw error
        } catch {
            throw StorageError(mapping: error, location: location, while: "connecting", defaultCode: .cannotOpen)
        }
        do {
            try await PostgresMigrator(location: location, logger: logger).migrate(connection)
        } catch {
            try? await connection.close()
            throw error
        }
        try? await connection.close()

        let client = PostgresClient(configuration: try configuration.clientConfiguration(), backgroundLogger: Self.quietLogger)
        return PostgresStore(configuration: configuration, client: client, logger: logger)
    }

    /// postgres-nio's own background logging stays off: its metadata could include queries.
    static let quietLogger = Logger(label: "persona-bridge.storage.postgres", factory: { _ in SwiftLogNoOpLogHandler() })

    // MARK: Access helpers

    /// Runs `body` on one pooled connection without a transaction (each statement commits).
    func withConnection<T: Sendable>(
        _ what: @autoclosure () -> String, _ body: (PostgresConnection) async throws -> T
    ) async throws -> T {
        try checkOpen()
        do {
            return try await client.withConnection { connection in try await body(connection) }
        } catch {
            throw mappedError(error, while: what())
        }
    }

    /// Runs `body` in a transaction on one pooled connection; commits when it returns.
    func transaction<T: Sendable>(
        _ what: @autoclosure () -> String, _ body: (PostgresConnection) async throws -> T
    ) async throws -> T {
        try checkOpen()
        do {
            return try await client.withTransaction(logger: Self.quietLogger) { connection in try await body(connection) }
        } catch {
            throw mappedError(error, while: what())
        }
    }

    func checkOpen() throws {
        if closed.withLock({ $0 }) {
            throw StorageError(code: .closed, message: "the store is closed", location: configuration.description)
        }
    }

    private func mappedError(_ error: any Error, while what: String) -> any Error {
        var error = error
        if let transactionError = error as? PostgresTransactionError {
            error = transactionError.closureError ?? transactionError.beginError ?? transactionError.commitError ?? error
        }
        if error is CancellationError { return error }
        if let callerError = error as? CallerError { return callerError.error }
        if let storageError = error as? StorageError { return storageError }
        if closed.withLock({ $0 }) {
            return StorageError(code: .closed, message: "the store was closed during \(what)",
                                location: configuration.description)
        }
        let mapped = StorageError(mapping: error, location: configuration.description, while: what)
        logger.error("storage operation failed", metadata: ["operation": "\(what)", "error": "\(mapped)"])
        return mapped
    }

    // MARK: Maintenance

    /// Names of the schema migrations applied, in order.
    public func appliedMigrations() async throws -> [String] {
        try await withConnection("reading applied migrations") { connection in
            try await PostgresMigrator.appliedMigrations(connection)
        }
    }

    /// Checks the bridge's invariants, that every applied migration is known, and, when the
    /// `amcheck` extension is installed in the database, every B-tree index of the schema.
    public func integrityCheck() async throws {
        let problems = try await withConnection("checking integrity") { connection -> [String] in
            var problems: [String] = []
            let applied = try await PostgresMigrator.appliedMigrations(connection)
            let known = PostgresMigrator.migrations.map(\.name)
            if applied != Array(known.prefix(applied.count)) {
                problems.append("applied migrations \(applied) do not match this version's \(known)")
            }
            let checks: [(String, PostgresQuery)] = [
                ("deleted messages that still have text",
                 "SELECT count(*) FROM message WHERE deleted_at IS NOT NULL AND text <> ''"),
                ("reply messages without a reply",
                 "SELECT count(*) FROM reply_message LEFT JOIN reply ON reply.id = reply_message.reply_id WHERE reply.id IS NULL"),
                ("answered claims without a channel",
                 "SELECT count(*) FROM answered LEFT JOIN channel ON channel.id = answered.channel_id WHERE channel.id IS NULL"),
            ]
            for (label, query) in checks {
                let count = try await connection.query(query, logger: Self.quietLogger).decodeFirst(Int.self) ?? 0
                if count > 0 { problems.append("\(count) \(label)") }
            }
            let hasAmcheck = try await connection.query(
                "SELECT count(*) FROM pg_extension WHERE extname = 'amcheck'", logger: Self.quietLogger
            ).decodeFirst(Int.self) ?? 0
            if hasAmcheck > 0 {
                // bt_index_check raises an error naming the index on damage.
                do {
                    try await connection.query("""
                        SELECT bt_index_check(c.oid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
                        JOIN pg_am am ON am.oid = c.relam JOIN pg_namespace n ON n.oid = c.relnamespace
                        WHERE am.amname = 'btree' AND n.nspname = current_schema()
                        """, logger: Self.quietLogger).drain()
                } catch {
                    problems.append("index check failed: \(StorageError(mapping: error, location: nil, while: "checking indexes").message)")
                }
            }
            return problems
        }
        if !problems.isEmpty {
            logger.error("storage integrity check failed", metadata: ["problems": "\(problems.count)"])
            throw StorageError(code: .integrityCheckFailed, message: problems.joined(separator: "; "),
                               location: configuration.description)
        }
    }

    /// Whether this store's sessions are encrypted (from `pg_stat_ssl`), for tests and diagnostics.
    package func sessionUsesTLS() async throws -> Bool {
        try await withConnection("reading the session's TLS state") { connection in
            try await connection.query("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()", logger: Self.quietLogger)
                .decodeFirst(Bool.self) ?? false
        }
    }

    /// The TCP keepalive idle time (seconds) of a pooled session, for tests and diagnostics (0: the OS default).
    package func sessionKeepaliveIdleSeconds() async throws -> String? {
        try await withConnection("reading the session's keepalive setting") { connection in
            try await connection.query("SELECT current_setting('tcp_keepalives_idle')", logger: Self.quietLogger)
                .decodeFirst(String.self)
        }
    }

    /// Closes the store and ends `run()`, which closes every pooled connection; commits are already durable.
    public func close() async throws {
        let wasOpen = closed.withLock { isClosed in
            defer { isClosed = true }
            return !isClosed
        }
        guard wasOpen else { return }
        closingInput.finish()
        logger.debug("storage closed")
    }
}

/// Carries an error thrown by a caller's closure through the transaction, so it is rethrown
/// unchanged instead of being reported as a database failure.
struct CallerError: Error {
    let error: any Error
}

extension PostgresRowSequence {
    /// The first column of the first row, or `nil` when there is no row; drains the rest.
    func decodeFirst<T: PostgresDecodable & Sendable>(_ type: T.Type) async throws -> T? {
        var result: T?
        for try await row in self where result == nil {
            result = try row.decode(T.self)
        }
        return result
    }

    /// Whether the statement returned at least one row; drains the rest.
    func hasRows() async throws -> Bool {
        var found = false
        for try await _ in self { found = true }
        return found
    }

    /// Reads and discards every row.
    func drain() async throws {
        for try await _ in self {}
    }
}

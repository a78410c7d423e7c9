import Logging
import Storage
internal import PostgresNIO

/// Versioned schema migrations for PostgreSQL, with the same names as `SQLiteStore`'s.
/// Never edit a shipped migration; add a new `vN-…` one.
struct PostgresMigrator {
    /// One named migration: statements run in order in one transaction.
    struct Migration {
        let name: String
        let statements: [PostgresQuery]
    }

    let location: String
    let logger: Logger

    /// Any constant shared by every version: concurrent first starts of several processes
    /// take turns on this transaction-scoped advisory lock.
    private static let lockKey: Int64 = 0x7062_6d69_6772_6174  // "pbmigrat"

    static let migrations: [Migration] = [
        Migration(name: "v1-initial-schema", statements: [
            // Times are milliseconds since 1970, as in SQLite. A channel row keeps the long
            // platform keys out of the per-message indices.
            """
            CREATE TABLE channel (
                id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                platform TEXT NOT NULL,
                server TEXT NOT NULL,
                channel TEXT NOT NULL,
                UNIQUE (platform, server, channel)
            )
            """,
            // Sequence values are never reused, so row ids stay valid history cursors.
            """
            CREATE TABLE message (
                id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                channel_id BIGINT NOT NULL REFERENCES channel(id),
                platform_message_id TEXT NOT NULL,
                speaker_id TEXT NOT NULL,
                speaker_name TEXT NOT NULL,
                speaker_kind TEXT NOT NULL,
                persona_name TEXT,
                text TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                reply_to_id TEXT,
                is_edited BOOLEAN NOT NULL DEFAULT FALSE,
                edited_at BIGINT,
                deleted_at BIGINT,
                UNIQUE (channel_id, platform_message_id)
            )
            """,
            "CREATE INDEX message_live_history ON message (channel_id, created_at, id) WHERE deleted_at IS NULL",
            // The primary key is the claim: only one INSERT can ever succeed, in any process.
            """
            CREATE TABLE answered (
                channel_id BIGINT NOT NULL REFERENCES channel(id),
                platform_message_id TEXT NOT NULL,
                claimed_at BIGINT NOT NULL,
                PRIMARY KEY (channel_id, platform_message_id)
            )
            """,
            """
            CREATE TABLE reply (
                id TEXT PRIMARY KEY,
                seq BIGINT GENERATED ALWAYS AS IDENTITY,
                channel_id BIGINT NOT NULL REFERENCES channel(id),
                persona_name TEXT NOT NULL,
                trigger_message_id TEXT,
                created_at BIGINT NOT NULL,
                was_cut_off BOOLEAN NOT NULL DEFAULT FALSE
            )
            """,
            "CREATE INDEX reply_by_channel ON reply (channel_id, created_at, seq)",
            """
            CREATE TABLE reply_message (
                reply_id TEXT NOT NULL REFERENCES reply(id) ON DELETE CASCADE,
                position BIGINT NOT NULL,
                platform_message_id TEXT NOT NULL,
                PRIMARY KEY (reply_id, position)
            )
            """,
            """
            CREATE TABLE channel_settings (
                channel_id BIGINT PRIMARY KEY REFERENCES channel(id),
                personas TEXT[],
                persona_off BOOLEAN NOT NULL DEFAULT FALSE,
                talkativeness DOUBLE PRECISION,
                trigger_mode TEXT,
                cooldown_seconds DOUBLE PRECISION,
                max_bot_turns BIGINT,
                respond_to_bots BOOLEAN,
                updated_by TEXT,
                updated_at BIGINT
            )
            """,
            """
            CREATE TABLE user_persona (
                platform TEXT NOT NULL,
                user_id TEXT NOT NULL,
                text TEXT NOT NULL,
                updated_at BIGINT NOT NULL,
                PRIMARY KEY (platform, user_id)
            )
            """,
            """
            CREATE TABLE kv_state (
                key TEXT PRIMARY KEY,
                value TEXT NOT NULL,
                updated_at BIGINT NOT NULL
            )
            """,
        ]),
        Migration(name: "v2-usage", statements: [
            // One row per model request; platform and server are copied from the channel so
            // the per-user and per-server sums need no join.
            """
            CREATE TABLE usage (
                request_id TEXT PRIMARY KEY,
                channel_id BIGINT NOT NULL REFERENCES channel(id),
                platform TEXT NOT NULL,
                server TEXT NOT NULL,
                user_id TEXT NOT NULL,
                prompt_tokens BIGINT NOT NULL,
                completion_tokens BIGINT NOT NULL,
                cached_tokens BIGINT NOT NULL,
                created_at BIGINT NOT NULL
            )
            """,
            "CREATE INDEX usage_by_user ON usage (platform, user_id, created_at)",
            "CREATE INDEX usage_by_channel ON usage (channel_id, created_at)",
            "CREATE INDEX usage_by_server ON usage (platform, server, created_at)",
        ]),
        Migration(name: "v3-imported-personas", statements: [
            // Personas imported from chat (`persona import`): the persona and its lorebook as JSON, the card image.
            """
            CREATE TABLE imported_persona (
                name TEXT PRIMARY KEY,
                persona_json TEXT NOT NULL,
                lorebook_json TEXT,
                image_base64 TEXT,
                imported_by TEXT NOT NULL,
                imported_at BIGINT NOT NULL
            )
            """,
        ]),
        Migration(name: "v3-prompt-records", statements: [
            // The document is JSON text the bridge renders; only the newest few per channel are kept.
            """
            CREATE TABLE prompt_record (
                request_id TEXT PRIMARY KEY,
                channel_id BIGINT NOT NULL REFERENCES channel(id),
                reply_id TEXT,
                persona_name TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                document TEXT NOT NULL
            )
            """,
            "CREATE INDEX prompt_record_by_channel ON prompt_record (channel_id, created_at)",
        ]),
        Migration(name: "v3-reply-alternatives", statements: [
            // texts is a JSON array of strings (at most ten), shown an index into it.
            """
            CREATE TABLE reply_alternative (
                channel_id BIGINT NOT NULL REFERENCES channel(id),
                reply_id TEXT NOT NULL,
                texts TEXT NOT NULL,
                shown BIGINT NOT NULL,
                updated_at BIGINT NOT NULL,
                PRIMARY KEY (channel_id, reply_id)
            )
            """,
        ]),
        Migration(name: "v4-scene-memory", statements: [
            // Long-term memory per scene: summaries of history that fell out of the context window, and pinned
            // facts. The cursor row says how far history is summarised; it outlives `memory forget`.
            """
            CREATE TABLE scene_memory (
                id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                channel_id BIGINT NOT NULL REFERENCES channel(id),
                kind TEXT NOT NULL,
                text TEXT NOT NULL,
                first_message_row_id BIGINT,
                last_message_row_id BIGINT,
                created_by TEXT,
                created_at BIGINT NOT NULL
            )
            """,
            "CREATE INDEX scene_memory_by_channel ON scene_memory (channel_id, id)",
            """
            CREATE TABLE scene_memory_cursor (
                channel_id BIGINT PRIMARY KEY REFERENCES channel(id),
                summarized_through BIGINT NOT NULL,
                updated_at BIGINT NOT NULL
            )
            """,
        ]),
        Migration(name: "v4-player-personas", statements: [
            // A player's character per platform (scene columns empty) or per scene (`!pb me set`).
            """
            CREATE TABLE player_persona (
                platform TEXT NOT NULL,
                user_id TEXT NOT NULL,
                scene_server TEXT NOT NULL,
                scene_channel TEXT NOT NULL,
                name TEXT NOT NULL,
                description TEXT NOT NULL,
                updated_at BIGINT NOT NULL,
                PRIMARY KEY (platform, user_id, scene_server, scene_channel)
            )
            """,
        ]),
        Migration(name: "v4-scene-activation", statements: [
            "ALTER TABLE channel_settings ADD COLUMN activation TEXT",
            "ALTER TABLE channel_settings ADD COLUMN muted_personas TEXT[]",
        ]),
        // SQLite's v5 drops AUTOINCREMENT from its message table; here ids come from an identity column, which keeps
        // no table of its own to update. Recorded all the same, so both backends name the same schema version.
        Migration(name: "v5-message-rowid", statements: []),
    ]

    /// Applies every missing migration in one transaction, refusing a schema from a newer version.
    func migrate(_ connection: PostgresConnection) async throws {
        do {
            let applied: [String] = try await connection.withTransaction(logger: PostgresStore.quietLogger) { connection in
                try await connection.query("SELECT pg_advisory_xact_lock(\(Self.lockKey))", logger: PostgresStore.quietLogger).drain()
                try await connection.query("""
                    CREATE TABLE IF NOT EXISTS pb_schema_migrations (
                        position BIGINT PRIMARY KEY,
                        name TEXT NOT NULL UNIQUE,
                        applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
                    )
                    """, logger: PostgresStore.quietLogger).drain()
                let before = try await Self.appliedMigrations(connection)
                let known = Self.migrations.map(\.name)
                if let unknown = before.first(where: { !known.contains($0) }) {
                    throw StorageError(
                        code: .migrationFailed,
                        message: "the database was migrated by a newer version of persona-bridge (\(unknown)); refusing to use it",
                        location: location)
                }
                var applied: [String] = []
                for (position, migration) in Self.migrations.enumerated() where !before.contains(migration.name) {
                    for statement in migration.statements {
                        try await connection.query(statement, logger: PostgresStore.quietLogger).drain()
                    }
                    try await connection.query(
                        "INSERT INTO pb_schema_migrations (position, name) VALUES (\(position), \(migration.name))",
                        logger: PostgresStore.quietLogger
                    ).drain()
                    applied.append(migration.name)
                }
                return applied
            }
            if applied.isEmpty {
                logger.debug("storage opened", metadata: ["schema": "\(Self.migrations.last?.name ?? "none")"])
            } else {
                logger.info("storage migrated", metadata: ["applied": "\(applied.joined(separator: ","))"])
            }
        } catch {
            var error: any Error = error
            if let transactionError = error as? PostgresTransactionError {
                error = transactionError.closureError ?? transactionError.beginError ?? transactionError.commitError ?? error
            }
            if let storageError = error as? StorageError { throw storageError }
            throw StorageError(mapping: error, location: location, while: "migrating the schema", defaultCode: .migrationFailed)
        }
    }

    /// Applied migration names in order; empty before the first migration.
    static func appliedMigrations(_ connection: PostgresConnection) async throws -> [String] {
        let exists = try await connection.query(
            "SELECT to_regclass('pb_schema_migrations') IS NOT NULL", logger: PostgresStore.quietLogger
        ).decodeFirst(Bool.self) ?? false
        guard exists else { return [] }
        var names: [String] = []
        for try await name in try await connection.query(
            "SELECT name FROM pb_schema_migrations ORDER BY position", logger: PostgresStore.quietLogger
        ).decode(String.self) {
            names.append(name)
        }
        return names
    }
}

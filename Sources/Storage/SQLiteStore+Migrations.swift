import GRDB

extension SQLiteStore {
    /// Versioned schema migrations, applied in order and recorded in `grdb_migrations`.
    /// Never edit a shipped migration; add a new `vN-…` one.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-initial-schema") { db in
            // Times are milliseconds since 1970. A channel row keeps the long platform keys out
            // of the per-message indices.
            try db.execute(sql: """
                CREATE TABLE channel (
                    id INTEGER PRIMARY KEY,
                    platform TEXT NOT NULL,
                    server TEXT NOT NULL,          -- '' when the channel has no server
                    channel TEXT NOT NULL,
                    UNIQUE (platform, server, channel)
                );

                -- AUTOINCREMENT: row ids are history cursors and must never be reused.
                CREATE TABLE message (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    channel_id INTEGER NOT NULL REFERENCES channel(id),
                    platform_message_id TEXT NOT NULL,
                    speaker_id TEXT NOT NULL,
                    speaker_name TEXT NOT NULL,
                    speaker_kind TEXT NOT NULL,
                    persona_name TEXT,
                    text TEXT NOT NULL,
                    created_at INTEGER NOT NULL,
                    reply_to_id TEXT,
                    is_edited INTEGER NOT NULL DEFAULT 0,
                    edited_at INTEGER,
                    deleted_at INTEGER,            -- tombstone: deleted or forgotten, text cleared
                    UNIQUE (channel_id, platform_message_id)
                );
                CREATE INDEX message_live_history
                    ON message (channel_id, created_at, id) WHERE deleted_at IS NULL;

                -- The primary key is the claim: only one INSERT can ever succeed.
                CREATE TABLE answered (
                    channel_id INTEGER NOT NULL REFERENCES channel(id),
                    platform_message_id TEXT NOT NULL,
                    claimed_at INTEGER NOT NULL,
                    PRIMARY KEY (channel_id, platform_message_id)
                ) WITHOUT ROWID;

                CREATE TABLE reply (
                    id TEXT PRIMARY KEY,
                    channel_id INTEGER NOT NULL REFERENCES channel(id),
                    persona_name TEXT NOT NULL,
                    trigger_message_id TEXT,
                    created_at INTEGER NOT NULL,
                    was_cut_off INTEGER NOT NULL DEFAULT 0
                );
                CREATE INDEX reply_by_channel ON reply (channel_id, created_at);

                CREATE TABLE reply_message (
                    reply_id TEXT NOT NULL REFERENCES reply(id) ON DELETE CASCADE,
                    position INTEGER NOT NULL,
                    platform_message_id TEXT NOT NULL,
                    PRIMARY KEY (reply_id, position)
                ) WITHOUT ROWID;

                CREATE TABLE channel_settings (
                    channel_id INTEGER PRIMARY KEY REFERENCES channel(id),
                    personas TEXT,                 -- JSON array of names; NULL = configured binding
                    persona_off INTEGER NOT NULL DEFAULT 0,
                    talkativeness REAL,
                    trigger_mode TEXT,
                    cooldown_seconds REAL,
                    max_bot_turns INTEGER,
                    respond_to_bots INTEGER,
                    updated_by TEXT,
                    updated_at INTEGER
                );

                CREATE TABLE user_persona (
                    platform TEXT NOT NULL,
                    user_id TEXT NOT NULL,
                    text TEXT NOT NULL,
                    updated_at INTEGER NOT NULL,
                    PRIMARY KEY (platform, user_id)
                ) WITHOUT ROWID;

                CREATE TABLE kv_state (
                    key TEXT PRIMARY KEY,
                    value TEXT NOT NULL,
                    updated_at INTEGER NOT NULL
                ) WITHOUT ROWID;
                """)
        }
        migrator.registerMigration("v2-usage") { db in
            // One row per model request; platform and server are copied from the channel so the
            // per-user and per-server sums need no join.
            try db.execute(sql: """
                CREATE TABLE usage (
                    request_id TEXT PRIMARY KEY,
                    channel_id INTEGER NOT NULL REFERENCES channel(id),
                    platform TEXT NOT NULL,
                    server TEXT NOT NULL,          -- '' when the channel has no server
                    user_id TEXT NOT NULL,
                    prompt_tokens INTEGER NOT NULL,
                    completion_tokens INTEGER NOT NULL,
                    cached_tokens INTEGER NOT NULL,
                    created_at INTEGER NOT NULL
                ) WITHOUT ROWID;
                CREATE INDEX usage_by_user ON usage (platform, user_id, created_at);
                CREATE INDEX usage_by_channel ON usage (channel_id, created_at);
                CREATE INDEX usage_by_server ON usage (platform, server, created_at);
                """)
        }
        migrator.registerMigration("v3-imported-personas") { db in
            // Personas imported from chat (`persona import`): the persona and its lorebook as JSON, the card image.
            try db.execute(sql: """
                CREATE TABLE imported_persona (
                    name TEXT PRIMARY KEY,
                    persona_json TEXT NOT NULL,
                    lorebook_json TEXT,
                    image_base64 TEXT,
                    imported_by TEXT NOT NULL,
                    imported_at INTEGER NOT NULL
                ) WITHOUT ROWID;
                """)
        }
        migrator.registerMigration("v3-prompt-records") { db in
            // The document is JSON text the bridge renders; only the newest few per channel are kept.
            try db.execute(sql: """
                CREATE TABLE prompt_record (
                    request_id TEXT PRIMARY KEY,
                    channel_id INTEGER NOT NULL REFERENCES channel(id),
                    reply_id TEXT,
                    persona_name TEXT NOT NULL,
                    created_at INTEGER NOT NULL,
                    document TEXT NOT NULL
                ) WITHOUT ROWID;
                CREATE INDEX prompt_record_by_channel ON prompt_record (channel_id, created_at);
                """)
        }
        migrator.registerMigration("v3-reply-alternatives") { db in
            // texts is a JSON array of strings (at most ten), shown an index into it.
            try db.execute(sql: """
                CREATE TABLE reply_alternative (
                    channel_id INTEGER NOT NULL REFERENCES channel(id),
                    reply_id TEXT NOT NULL,
                    texts TEXT NOT NULL,
                    shown INTEGER NOT NULL,
                    updated_at INTEGER NOT NULL,
                    PRIMARY KEY (channel_id, reply_id)
                ) WITHOUT ROWID;
                """)
        }
        migrator.registerMigration("v4-scene-memory") { db in
            // Long-term memory per scene: summaries of history that fell out of the context window, and pinned
            // facts. The cursor row says how far history is summarised; it outlives `memory forget`.
            try db.execute(sql: """
                CREATE TABLE scene_memory (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    channel_id INTEGER NOT NULL REFERENCES channel(id),
                    kind TEXT NOT NULL,            -- 'summary' or 'pinned'
                    text TEXT NOT NULL,
                    first_message_row_id INTEGER,  -- summaries: history rows covered
                    last_message_row_id INTEGER,
                    created_by TEXT,               -- pinned facts: who added them
                    created_at INTEGER NOT NULL
                );
                CREATE INDEX scene_memory_by_channel ON scene_memory (channel_id, id);

                CREATE TABLE scene_memory_cursor (
                    channel_id INTEGER PRIMARY KEY REFERENCES channel(id),
                    summarized_through INTEGER NOT NULL,
                    updated_at INTEGER NOT NULL
                );
                """)
        }
        migrator.registerMigration("v4-player-personas") { db in
            // A player's character per platform (scene columns empty) or per scene (`!pb me set`).
            try db.execute(sql: """
                CREATE TABLE player_persona (
                    platform TEXT NOT NULL,
                    user_id TEXT NOT NULL,
                    scene_server TEXT NOT NULL,    -- '' for the platform-wide row or a channel without a server
                    scene_channel TEXT NOT NULL,   -- '' for the platform-wide row
                    name TEXT NOT NULL,
                    description TEXT NOT NULL,
                    updated_at INTEGER NOT NULL,
                    PRIMARY KEY (platform, user_id, scene_server, scene_channel)
                ) WITHOUT ROWID;
                """)
        }
        migrator.registerMigration("v4-scene-activation") { db in
            // muted_personas is a JSON array of names; NULL = nobody muted.
            try db.execute(sql: """
                ALTER TABLE channel_settings ADD COLUMN activation TEXT;
                ALTER TABLE channel_settings ADD COLUMN muted_personas TEXT;
                """)
        }
        migrator.registerMigration("v5-message-rowid") { db in
            // The same table without AUTOINCREMENT, which updated `sqlite_sequence` on every insert (an eighth of a
            // recorded message's cost). Row ids stay cursors that are never reused: a message row is never deleted
            // (a deletion is a tombstone), so SQLite's next id, one past the largest, is always a new one. Ids and
            // rows are copied as they are.
            try db.execute(sql: """
                CREATE TABLE message_v5 (
                    id INTEGER PRIMARY KEY,
                    channel_id INTEGER NOT NULL REFERENCES channel(id),
                    platform_message_id TEXT NOT NULL,
                    speaker_id TEXT NOT NULL,
                    speaker_name TEXT NOT NULL,
                    speaker_kind TEXT NOT NULL,
                    persona_name TEXT,
                    text TEXT NOT NULL,
                    created_at INTEGER NOT NULL,
                    reply_to_id TEXT,
                    is_edited INTEGER NOT NULL DEFAULT 0,
                    edited_at INTEGER,
                    deleted_at INTEGER,            -- tombstone: deleted or forgotten, text cleared
                    UNIQUE (channel_id, platform_message_id)
                );
                INSERT INTO message_v5 (id, channel_id, platform_message_id, speaker_id, speaker_name, speaker_kind,
                                        persona_name, text, created_at, reply_to_id, is_edited, edited_at, deleted_at)
                    SELECT id, channel_id, platform_message_id, speaker_id, speaker_name, speaker_kind,
                           persona_name, text, created_at, reply_to_id, is_edited, edited_at, deleted_at
                    FROM message ORDER BY id;
                DROP TABLE message;
                ALTER TABLE message_v5 RENAME TO message;
                CREATE INDEX message_live_history
                    ON message (channel_id, created_at, id) WHERE deleted_at IS NULL;
                DELETE FROM sqlite_sequence WHERE name = 'message';
                """)
        }
        return migrator
    }
}

import Foundation
import GRDB

extension SQLiteStore {
    // MARK: Answered-message claims

    /// Claims a message; the table's primary key lets only the first INSERT succeed.
    public func claimAnswer(channel: ChannelKey, messageID: String) async throws -> Bool {
        let now = Date().storageMilliseconds
        return try await durableWrite("claiming message \(messageID) in \(channel)") { db in
            let channelRowID = try Self.createChannelRowID(channel, db)
            try db.execute(sql: """
                INSERT INTO answered (channel_id, platform_message_id, claimed_at) VALUES (?, ?, ?)
                ON CONFLICT (channel_id, platform_message_id) DO NOTHING
                """, arguments: [channelRowID, messageID, now])
            return db.changesCount > 0
        }
    }

    /// Gives a claim back.
    public func releaseAnswer(channel: ChannelKey, messageID: String) async throws {
        try await write("releasing message \(messageID) in \(channel)") { db in
            guard let channelRowID = try Self.channelRowID(channel, db) else { return }
            try db.execute(sql: "DELETE FROM answered WHERE channel_id = ? AND platform_message_id = ?",
                           arguments: [channelRowID, messageID])
        }
    }

    /// Whether the message is claimed.
    public func isAnswered(channel: ChannelKey, messageID: String) async throws -> Bool {
        try await read("reading the claim on message \(messageID) in \(channel)") { db in
            guard let channelRowID = try Self.channelRowID(channel, db) else { return false }
            return try Bool.fetchOne(db, sql: """
                SELECT EXISTS (SELECT 1 FROM answered WHERE channel_id = ? AND platform_message_id = ?)
                """, arguments: [channelRowID, messageID]) ?? false
        }
    }

    // MARK: Channel settings

    /// Settings changed from chat, if any.
    public func channelSettings(for channel: ChannelKey) async throws -> ChannelSettings? {
        let location = location.description
        return try await read("reading settings of \(channel)") { db in
            guard let channelRowID = try Self.channelRowID(channel, db) else { return nil }
            return try Self.settings(channelRowID: channelRowID, db, location: location)
        }
    }

    /// Replaces the channel's settings.
    public func setChannelSettings(_ settings: ChannelSettings, for channel: ChannelKey) async throws {
        let location = location.description
        try await write("storing settings of \(channel)") { db in
            let channelRowID = try Self.createChannelRowID(channel, db)
            try Self.store(settings, channelRowID: channelRowID, db, location: location)
        }
    }

    /// Reads, changes and writes the channel's settings in one transaction.
    @discardableResult
    public func updateChannelSettings(
        for channel: ChannelKey, _ body: @escaping @Sendable (inout ChannelSettings) throws -> Void
    ) async throws -> ChannelSettings {
        let location = location.description
        return try await write("updating settings of \(channel)") { db in
            let channelRowID = try Self.createChannelRowID(channel, db)
            var settings = try Self.settings(channelRowID: channelRowID, db, location: location) ?? ChannelSettings()
            do {
                try body(&settings)
            } catch {
                throw CallerError(error: error)
            }
            try Self.store(settings, channelRowID: channelRowID, db, location: location)
            return settings
        }
    }

    /// Every channel with stored settings.
    public func allChannelSettings() async throws -> [ChannelKey: ChannelSettings] {
        let location = location.description
        return try await read("reading all channel settings") { db in
            let rows = try Row.fetchAll(db, sql: """
                SELECT channel_settings.*, channel.platform, channel.server, channel.channel
                FROM channel_settings JOIN channel ON channel.id = channel_settings.channel_id
                """)
            var result: [ChannelKey: ChannelSettings] = [:]
            for row in rows {
                result[Self.channelKey(from: row)] = try Self.settings(from: row, location: location)
            }
            return result
        }
    }

    private static func settings(channelRowID: Int64, _ db: Database, location: String) throws -> ChannelSettings? {
        guard let row = try Row.fetchOne(db, sql: "SELECT * FROM channel_settings WHERE channel_id = ?",
                                         arguments: [channelRowID])
        else { return nil }
        return try settings(from: row, location: location)
    }

    private static func settings(from row: Row, location: String) throws -> ChannelSettings {
        var personas: [String]?
        if let json: String = row["personas"] {
            do {
                personas = try JSONDecoder().decode([String].self, from: Data(json.utf8))
            } catch {
                throw StorageError(code: .corrupt, message: "stored persona list is not a JSON array of strings",
                                   location: location, underlying: "\(error)")
            }
        }
        var muted: [String] = []
        if let json: String = row["muted_personas"] {
            do {
                muted = try JSONDecoder().decode([String].self, from: Data(json.utf8))
            } catch {
                throw StorageError(code: .corrupt, message: "stored muted persona list is not a JSON array of strings",
                                   location: location, underlying: "\(error)")
            }
        }
        let updatedAt: Int64? = row["updated_at"]
        var settings = ChannelSettings(
            personas: personas,
            personaOff: row["persona_off"],
            talkativeness: row["talkativeness"],
            triggerMode: row["trigger_mode"],
            cooldownSeconds: row["cooldown_seconds"],
            maxBotTurns: row["max_bot_turns"],
            respondToBots: row["respond_to_bots"],
            updatedBy: row["updated_by"],
            updatedAt: updatedAt.map(Date.init(storageMilliseconds:)))
        settings.activation = row["activation"]
        settings.mutedPersonas = muted
        return settings
    }

    private static func store(_ settings: ChannelSettings, channelRowID: Int64, _ db: Database, location: String) throws {
        var personasJSON: String?
        if let personas = settings.personas {
            let data = try JSONEncoder().encode(personas)
            personasJSON = String(decoding: data, as: UTF8.self)
        }
        var mutedJSON: String?
        if !settings.mutedPersonas.isEmpty {
            mutedJSON = String(decoding: try JSONEncoder().encode(settings.mutedPersonas), as: UTF8.self)
        }
        try db.execute(sql: """
            INSERT INTO channel_settings (channel_id, personas, persona_off, talkativeness, trigger_mode,
                                          cooldown_seconds, max_bot_turns, respond_to_bots, updated_by, updated_at,
                                          activation, muted_personas)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (channel_id) DO UPDATE SET
                personas = excluded.personas, persona_off = excluded.persona_off,
                talkativeness = excluded.talkativeness, trigger_mode = excluded.trigger_mode,
                cooldown_seconds = excluded.cooldown_seconds, max_bot_turns = excluded.max_bot_turns,
                respond_to_bots = excluded.respond_to_bots, updated_by = excluded.updated_by,
                updated_at = excluded.updated_at, activation = excluded.activation,
                muted_personas = excluded.muted_personas
            """, arguments: [channelRowID, personasJSON, settings.personaOff, settings.talkativeness,
                             settings.triggerMode, settings.cooldownSeconds, settings.maxBotTurns,
                             settings.respondToBots, settings.updatedBy, settings.updatedAt?.storageMilliseconds,
                             settings.activation, mutedJSON])
    }

    // MARK: Per-user personas

    /// A user's `user_system` text, if set.
    public func userPersona(platform: String, userID: String) async throws -> String? {
        try await read("reading the persona of \(platform) user \(userID)") { db in
            try String.fetchOne(db, sql: "SELECT text FROM user_persona WHERE platform = ? AND user_id = ?",
                                arguments: [platform, userID])
        }
    }

    /// Sets or removes a user's `user_system` text.
    public func setUserPersona(_ text: String?, platform: String, userID: String) async throws {
        let now = Date().storageMilliseconds
        try await write("storing the persona of \(platform) user \(userID)") { db in
            if let text {
                try db.execute(sql: """
                    INSERT INTO user_persona (platform, user_id, text, updated_at) VALUES (?, ?, ?, ?)
                    ON CONFLICT (platform, user_id) DO UPDATE SET text = excluded.text, updated_at = excluded.updated_at
                    """, arguments: [platform, userID, text, now])
            } else {
                try db.execute(sql: "DELETE FROM user_persona WHERE platform = ? AND user_id = ?",
                               arguments: [platform, userID])
            }
        }
    }

    // MARK: Key/value state

    /// A stored state value, if any.
    public func state(for key: String) async throws -> String? {
        try await read("reading state \(key)") { db in
            try String.fetchOne(db, sql: "SELECT value FROM kv_state WHERE key = ?", arguments: [key])
        }
    }

    /// Stores or removes a state value.
    public func setState(_ value: String?, for key: String) async throws {
        let now = Date().storageMilliseconds
        try await write("storing state \(key)") { db in try Self.setState(value, for: key, now: now, db) }
    }

    /// Stores or removes several state values in one transaction.
    public func setStates(_ values: [(key: String, value: String?)]) async throws {
        if values.isEmpty { return }
        let now = Date().storageMilliseconds
        try await write("storing \(values.count) state values") { db in
            for (key, value) in values { try Self.setState(value, for: key, now: now, db) }
        }
    }

    private static func setState(_ value: String?, for key: String, now: Int64, _ db: Database) throws {
        if let value {
            try db.execute(sql: """
                INSERT INTO kv_state (key, value, updated_at) VALUES (?, ?, ?)
                ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at
                """, arguments: [key, value, now])
        } else {
            try db.execute(sql: "DELETE FROM kv_state WHERE key = ?", arguments: [key])
        }
    }
}

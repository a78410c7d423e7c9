import Foundation
import Storage
internal import PostgresNIO

extension PostgresStore {
    // MARK: Answered-message claims

    /// Claims a message; the table's primary key lets only the first INSERT succeed, in any process.
    public func claimAnswer(channel: ChannelKey, messageID: String) async throws -> Bool {
        let now = Date().storageMilliseconds
        return try await withConnection("claiming message \(messageID) in \(channel)") { connection in
            let channelRowID = try await Self.createChannelRowID(channel, connection)
            return try await connection.query("""
                INSERT INTO answered (channel_id, platform_message_id, claimed_at)
                VALUES (\(channelRowID), \(messageID), \(now))
                ON CONFLICT (channel_id, platform_message_id) DO NOTHING
                RETURNING 1
                """, logger: Self.quietLogger).hasRows()
        }
    }

    /// Gives a claim back.
    public func releaseAnswer(channel: ChannelKey, messageID: String) async throws {
        try await withConnection("releasing message \(messageID) in \(channel)") { connection in
            guard let channelRowID = try await Self.channelRowID(channel, connection) else { return }
            try await connection.query("""
                DELETE FROM answered WHERE channel_id = \(channelRowID) AND platform_message_id = \(messageID)
                """, logger: Self.quietLogger).drain()
        }
    }

    /// Whether the message is claimed.
    public func isAnswered(channel: ChannelKey, messageID: String) async throws -> Bool {
        try await withConnection("reading the claim on message \(messageID) in \(channel)") { connection in
            try await connection.query("""
                SELECT 1 FROM answered JOIN channel ON channel.id = answered.channel_id
                WHERE channel.platform = \(channel.platform) AND channel.server = \(channel.serverID ?? "")
                  AND channel.channel = \(channel.channelID) AND answered.platform_message_id = \(messageID)
                """, logger: Self.quietLogger).hasRows()
        }
    }

    // MARK: Channel settings

    /// Settings changed from chat, if any.
    public func channelSettings(for channel: ChannelKey) async throws -> ChannelSettings? {
        try await withConnection("reading settings of \(channel)") { connection in
            guard let channelRowID = try await Self.channelRowID(channel, connection) else { return nil }
            return try await Self.settings(channelRowID: channelRowID, connection)
        }
    }

    /// Replaces the channel's settings.
    public func setChannelSettings(_ settings: ChannelSettings, for channel: ChannelKey) async throws {
        try await withConnection("storing settings of \(channel)") { connection in
            let channelRowID = try await Self.createChannelRowID(channel, connection)
            try await Self.store(settings, channelRowID: channelRowID, connection)
        }
    }

    /// Reads, changes and writes the channel's settings in one transaction. Locking the channel
    /// row makes concurrent updates, from any process, take turns, so none is lost.
    @discardableResult
    public func updateChannelSettings(
        for channel: ChannelKey, _ body: @escaping @Sendable (inout ChannelSettings) throws -> Void
    ) async throws -> ChannelSettings {
        try await transaction("updating settings of \(channel)") { connection in
            let channelRowID = try await Self.createChannelRowID(channel, connection)
            try await connection.query("SELECT id FROM channel WHERE id = \(channelRowID) FOR UPDATE",
                                       logger: Self.quietLogger).drain()
            var settings = try await Self.settings(channelRowID: channelRowID, connection) ?? ChannelSettings()
            do {
                try body(&settings)
            } catch {
                throw CallerError(error: error)
            }
            try await Self.store(settings, channelRowID: channelRowID, connection)
            return settings
        }
    }

    /// Every channel with stored settings.
    public func allChannelSettings() async throws -> [ChannelKey: ChannelSettings] {
        try await withConnection("reading all channel settings") { connection in
            let rows = try await connection.query("""
                SELECT \(unescaped: Self.settingsColumns), channel.platform, channel.server, channel.channel
                FROM channel_settings JOIN channel ON channel.id = channel_settings.channel_id
                """, logger: Self.quietLogger)
            var result: [ChannelKey: ChannelSettings] = [:]
            for try await row in rows {
                let columns = row.makeRandomAccess()
                let channel = ChannelKey(platform: try columns["platform"].decode(String.self),
                                         serverID: try columns["server"].decode(String.self),
                                         channelID: try columns["channel"].decode(String.self))
                result[channel] = try Self.settings(from: row)
            }
            return result
        }
    }

    private static let settingsColumns = """
        personas, persona_off, talkativeness, trigger_mode, cooldown_seconds, max_bot_turns, respond_to_bots,
        updated_by, updated_at, activation, muted_personas
        """

    private static func settings(channelRowID: Int64, _ connection: PostgresConnection) async throws -> ChannelSettings? {
        let rows = try await connection.query("""
            SELECT \(unescaped: settingsColumns) FROM channel_settings WHERE channel_id = \(channelRowID)
            """, logger: quietLogger)
        var result: ChannelSettings?
        for try await row in rows where result == nil {
            result = try settings(from: row)
        }
        return result
    }

    /// Settings from a row that starts with `settingsColumns`.
    private static func settings(from row: PostgresRow) throws -> ChannelSettings {
        let (personas, personaOff, talkativeness, triggerMode, cooldownSeconds, maxBotTurns, respondToBots, updatedBy,
             updatedAt, activation, muted) = try row.decode(
                ([String]?, Bool, Double?, String?, Double?, Int?, Bool?, String?, Int64?, String?, [String]?).self)
        var settings = ChannelSettings(
            personas: personas, personaOff: personaOff, talkativeness: talkativeness, triggerMode: triggerMode,
            cooldownSeconds: cooldownSeconds, maxBotTurns: maxBotTurns, respondToBots: respondToBots,
            updatedBy: updatedBy, updatedAt: updatedAt.map(Date.init(storageMilliseconds:)))
        settings.activation = activation
        settings.mutedPersonas = muted ?? []
        return settings
    }

    private static func store(_ settings: ChannelSettings, channelRowID: Int64, _ connection: PostgresConnection) async throws {
        try await connection.query("""
            INSERT INTO channel_settings (channel_id, personas, persona_off, talkativeness, trigger_mode,
                                          cooldown_seconds, max_bot_turns, respond_to_bots, updated_by, updated_at,
                                          activation, muted_personas)
            VALUES (\(channelRowID), \(settings.personas), \(settings.personaOff), \(settings.talkativeness),
                    \(settings.triggerMode), \(settings.cooldownSeconds), \(settings.maxBotTurns),
                    \(settings.respondToBots), \(settings.updatedBy), \(settings.updatedAt?.storageMilliseconds),
                    \(settings.activation), \(settings.mutedPersonas.isEmpty ? nil : settings.mutedPersonas))
            ON CONFLICT (channel_id) DO UPDATE SET
                personas = excluded.personas, persona_off = excluded.persona_off,
                talkativeness = excluded.talkativeness, trigger_mode = excluded.trigger_mode,
                cooldown_seconds = excluded.cooldown_seconds, max_bot_turns = excluded.max_bot_turns,
                respond_to_bots = excluded.respond_to_bots, updated_by = excluded.updated_by,
                updated_at = excluded.updated_at, activation = excluded.activation,
                muted_personas = excluded.muted_personas
            """, logger: quietLogger).drain()
    }

    // MARK: Per-user personas

    /// A user's `user_system` text, if set.
    public func userPersona(platform: String, userID: String) async throws -> String? {
        try await withConnection("reading the persona of \(platform) user \(userID)") { connection in
            try await connection.query("""
                SELECT text FROM user_persona WHERE platform = \(platform) AND user_id = \(userID)
                """, logger: Self.quietLogger).decodeFirst(String.self)
        }
    }

    /// Sets or removes a user's `user_system` text.
    public func setUserPersona(_ text: String?, platform: String, userID: String) async throws {
        let now = Date().storageMilliseconds
        try await withConnection("storing the persona of \(platform) user \(userID)") { connection in
            if let text {
                try await connection.query("""
                    INSERT INTO user_persona (platform, user_id, text, updated_at) VALUES (\(platform), \(userID), \(text), \(now))
                    ON CONFLICT (platform, user_id) DO UPDATE SET text = excluded.text, updated_at = excluded.updated_at
                    """, logger: Self.quietLogger).drain()
            } else {
                try await connection.query("""
                    DELETE FROM user_persona WHERE platform = \(platform) AND user_id = \(userID)
                    """, logger: Self.quietLogger).drain()
            }
        }
    }

    // MARK: Key/value state

    /// A stored state value, if any.
    public func state(for key: String) async throws -> String? {
        try await withConnection("reading state \(key)") { connection in
            try await connection.query("SELECT value FROM kv_state WHERE key = \(key)", logger: Self.quietLogger)
                .decodeFirst(String.self)
        }
    }

    /// Stores or removes a state value.
    public func setState(_ value: String?, for key: String) async throws {
        let now = Date().storageMilliseconds
        try await withConnection("storing state \(key)") { connection in try await Self.setState(value, for: key, now: now, connection) }
    }

    /// Stores or removes several state values in one transaction.
    public func setStates(_ values: [(key: String, value: String?)]) async throws {
        if values.isEmpty { return }
        let now = Date().storageMilliseconds
        try await transaction("storing \(values.count) state values") { connection in
            for (key, value) in values { try await Self.setState(value, for: key, now: now, connection) }
        }
    }

    private static func setState(_ value: String?, for key: String, now: Int64, _ connection: PostgresConnection) async throws {
        if let value {
            try await connection.query("""
                INSERT INTO kv_state (key, value, updated_at) VALUES (\(key), \(value), \(now))
                ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at
                """, logger: Self.quietLogger).drain()
        } else {
            try await connection.query("DELETE FROM kv_state WHERE key = \(key)", logger: Self.quietLogger).drain()
        }
    }
}

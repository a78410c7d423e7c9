import Foundation
import Storage
internal import PostgresNIO

extension PostgresStore {
    /// Stores a message unless its platform id already exists in the channel.
    @discardableResult
    public func insert(_ message: StoredMessage) async throws -> InsertResult {
        try await withConnection("inserting message \(message.messageID) in \(message.channel)") { connection in
            let channelRowID = try await Self.createChannelRowID(message.channel, connection)
            return try await Self.insert(message, channelRowID: channelRowID, connection)
        }
    }

    /// Stores several messages in one transaction, with one multi-row `INSERT` for the whole batch.
    @discardableResult
    public func insert(contentsOf messages: [StoredMessage]) async throws -> [InsertResult] {
        if messages.isEmpty { return [] }
        return try await transaction("inserting \(messages.count) messages") { connection in
            var channelRowIDs: [ChannelKey: Int64] = [:]
            for message in messages where channelRowIDs[message.channel] == nil {
                channelRowIDs[message.channel] = try await Self.createChannelRowID(message.channel, connection)
            }
            let channels = messages.map { channelRowIDs[$0.channel] ?? 0 }
            return try await Self.insertBatch(messages, channelRowIDs: channels, connection)
        }
    }

    /// The live message with this platform id, if stored.
    public func message(in channel: ChannelKey, messageID: String) async throws -> StoredMessage? {
        try await withConnection("reading message \(messageID) in \(channel)") { connection in
            let rows = try await connection.query("""
                SELECT \(unescaped: Self.messageColumns) FROM message JOIN channel ON channel.id = message.channel_id
                WHERE channel.platform = \(channel.platform) AND channel.server = \(channel.serverID ?? "")
                  AND channel.channel = \(channel.channelID)
                  AND platform_message_id = \(messageID) AND deleted_at IS NULL
                """, logger: Self.quietLogger)
            return try await Self.messages(rows, channel: channel).first
        }
    }

    /// Replaces the text of a live message; an edit older than the last applied one is ignored.
    @discardableResult
    public func applyEdit(in channel: ChannelKey, messageID: String, newText: String, editedAt: Date) async throws -> Bool {
        let editedAt = editedAt.storageMilliseconds
        return try await withConnection("editing message \(messageID) in \(channel)") { connection in
            guard let channelRowID = try await Self.channelRowID(channel, connection) else { return false }
            return try await connection.query("""
                UPDATE message SET text = \(newText), is_edited = TRUE, edited_at = \(editedAt)
                WHERE channel_id = \(channelRowID) AND platform_message_id = \(messageID) AND deleted_at IS NULL
                  AND (edited_at IS NULL OR edited_at <= \(editedAt))
                RETURNING id
                """, logger: Self.quietLogger).hasRows()
        }
    }

    /// Replaces the text only when `editorID` spoke the message and it is not a persona's.
    @discardableResult
    public func applyEdit(in channel: ChannelKey, messageID: String, newText: String, editedAt: Date,
                          by editorID: String) async throws -> Bool {
        let editedAt = editedAt.storageMilliseconds
        let persona = SpeakerKind.persona.rawValue
        return try await withConnection("editing message \(messageID) in \(channel)") { connection in
            guard let channelRowID = try await Self.channelRowID(channel, connection) else { return false }
            return try await connection.query("""
                UPDATE message SET text = \(newText), is_edited = TRUE, edited_at = \(editedAt)
                WHERE channel_id = \(channelRowID) AND platform_message_id = \(messageID) AND deleted_at IS NULL
                  AND (edited_at IS NULL OR edited_at <= \(editedAt))
                  AND speaker_id = \(editorID) AND speaker_kind <> \(persona)
                RETURNING id
                """, logger: Self.quietLogger).hasRows()
        }
    }

    /// Tombstones a message and clears its text.
    @discardableResult
    public func applyDeletion(in channel: ChannelKey, messageID: String, deletedAt: Date) async throws -> Bool {
        let deletedAt = deletedAt.storageMilliseconds
        return try await withConnection("deleting message \(messageID) in \(channel)") { connection in
            guard let channelRowID = try await Self.channelRowID(channel, connection) else { return false }
            return try await connection.query("""
                UPDATE message SET text = '', deleted_at = \(deletedAt)
                WHERE channel_id = \(channelRowID) AND platform_message_id = \(messageID) AND deleted_at IS NULL
                RETURNING id
                """, logger: Self.quietLogger).hasRows()
        }
    }

    /// The newest `limit` live messages (after `rowID` when given), oldest first.
    public func recentMessages(in channel: ChannelKey, limit: Int, after rowID: Int64?) async throws -> [StoredMessage] {
        guard limit >= 0 else {
            throw StorageError(code: .invalidArgument, message: "history limit must not be negative, got \(limit)",
                               location: configuration.description)
        }
        if limit == 0 { return [] }
        let after = rowID ?? 0
        return try await withConnection("reading history of \(channel)") { connection in
            guard let channelRowID = try await Self.channelRowID(channel, connection) else { return [] }
            let rows = try await connection.query("""
                SELECT * FROM (
                    SELECT \(unescaped: Self.messageColumns) FROM message
                    WHERE channel_id = \(channelRowID) AND deleted_at IS NULL AND id > \(after)
                    ORDER BY created_at DESC, id DESC
                    LIMIT \(limit)
                ) AS newest ORDER BY created_at, id
                """, logger: Self.quietLogger)
            return try await Self.messages(rows, channel: channel)
        }
    }

    /// The number of live messages in the channel.
    public func messageCount(in channel: ChannelKey) async throws -> Int {
        try await withConnection("counting messages in \(channel)") { connection in
            guard let channelRowID = try await Self.channelRowID(channel, connection) else { return 0 }
            return try await connection.query("""
                SELECT count(*) FROM message WHERE channel_id = \(channelRowID) AND deleted_at IS NULL
                """, logger: Self.quietLogger).decodeFirst(Int.self) ?? 0
        }
    }

    /// Forgets every live message of the channel.
    @discardableResult
    public func resetHistory(in channel: ChannelKey) async throws -> Int {
        let now = Date().storageMilliseconds
        return try await withConnection("resetting history of \(channel)") { connection in
            guard let channelRowID = try await Self.channelRowID(channel, connection) else { return 0 }
            return try await connection.query("""
                WITH forgotten AS (
                    UPDATE message SET text = '', deleted_at = \(now)
                    WHERE channel_id = \(channelRowID) AND deleted_at IS NULL RETURNING 1
                ) SELECT count(*) FROM forgotten
                """, logger: Self.quietLogger).decodeFirst(Int.self) ?? 0
        }
    }

    /// Forgets the newest `count` live messages of the channel.
    @discardableResult
    public func forgetLast(_ count: Int, in channel: ChannelKey) async throws -> Int {
        guard count >= 0 else {
            throw StorageError(code: .invalidArgument, message: "forget count must not be negative, got \(count)",
                               location: configuration.description)
        }
        if count == 0 { return 0 }
        let now = Date().storageMilliseconds
        return try await withConnection("forgetting \(count) messages in \(channel)") { connection in
            guard let channelRowID = try await Self.channelRowID(channel, connection) else { return 0 }
            return try await connection.query("""
                WITH forgotten AS (
                    UPDATE message SET text = '', deleted_at = \(now)
                    WHERE id IN (
                        SELECT id FROM message WHERE channel_id = \(channelRowID) AND deleted_at IS NULL
                        ORDER BY created_at DESC, id DESC LIMIT \(count)
                    ) AND deleted_at IS NULL
                    RETURNING 1
                ) SELECT count(*) FROM forgotten
                """, logger: Self.quietLogger).decodeFirst(Int.self) ?? 0
        }
    }

    // MARK: Replies

    /// Records a reply, replacing any record with the same id.
    public func recordReply(_ reply: ReplyRecord) async throws {
        let createdAt = reply.createdAt.storageMilliseconds
        try await transaction("recording reply \(reply.replyID) in \(reply.channel)") { connection in
            let channelRowID = try await Self.createChannelRowID(reply.channel, connection)
            try await connection.query("""
                INSERT INTO reply (id, channel_id, persona_name, trigger_message_id, created_at, was_cut_off)
                VALUES (\(reply.replyID), \(channelRowID), \(reply.personaName), \(reply.triggerMessageID),
                        \(createdAt), \(reply.wasCutOff))
                ON CONFLICT (id) DO UPDATE SET
                    channel_id = excluded.channel_id, persona_name = excluded.persona_name,
                    trigger_message_id = excluded.trigger_message_id, created_at = excluded.created_at,
                    was_cut_off = excluded.was_cut_off
                """, logger: Self.quietLogger).drain()
            try await connection.query("DELETE FROM reply_message WHERE reply_id = \(reply.replyID)",
                                       logger: Self.quietLogger).drain()
            if !reply.messageIDs.isEmpty {
                let positions = reply.messageIDs.indices.map { Int64($0) }
                try await connection.query("""
                    INSERT INTO reply_message (reply_id, position, platform_message_id)
                    SELECT \(reply.replyID), position, message_id
                    FROM unnest(\(positions)::BIGINT[], \(reply.messageIDs)::TEXT[]) AS item(position, message_id)
                    """, logger: Self.quietLogger).drain()
            }
        }
    }

    /// The reply with this id, if recorded.
    public func reply(id replyID: String) async throws -> ReplyRecord? {
        try await transaction("reading reply \(replyID)") { connection in
            try await Self.reply(.id(replyID), connection)
        }
    }

    /// The newest reply in the channel, optionally by one persona.
    public func lastReply(in channel: ChannelKey, persona: String?) async throws -> ReplyRecord? {
        try await transaction("reading the last reply in \(channel)") { connection in
            guard let channelRowID = try await Self.channelRowID(channel, connection) else { return nil }
            return try await Self.reply(.newest(channelRowID: channelRowID, persona: persona), connection)
        }
    }

    /// Deletes a reply record and tombstones its messages.
    @discardableResult
    public func removeReply(id replyID: String) async throws -> ReplyRecord? {
        let now = Date().storageMilliseconds
        return try await transaction("removing reply \(replyID)") { connection in
            // FOR UPDATE: a concurrent removal waits, then finds nothing.
            guard let record = try await Self.reply(.id(replyID), lock: true, connection),
                  let channelRowID = try await Self.channelRowID(record.channel, connection)
            else { return nil }
            if !record.messageIDs.isEmpty {
                try await connection.query("""
                    UPDATE message SET text = '', deleted_at = \(now)
                    WHERE channel_id = \(channelRowID) AND platform_message_id = ANY(\(record.messageIDs)::TEXT[])
                      AND deleted_at IS NULL
                    """, logger: Self.quietLogger).drain()
            }
            try await connection.query("DELETE FROM reply WHERE id = \(replyID)", logger: Self.quietLogger).drain()
            return record
        }
    }

    // MARK: Row helpers

    /// The channel's row id, or `nil` when nothing was ever stored for it.
    static func channelRowID(_ channel: ChannelKey, _ connection: PostgresConnection) async throws -> Int64? {
        try await connection.query("""
            SELECT id FROM channel
            WHERE platform = \(channel.platform) AND server = \(channel.serverID ?? "") AND channel = \(channel.channelID)
            """, logger: quietLogger).decodeFirst(Int64.self)
    }

    /// The channel's row id, creating the row when missing. Each statement sees rows other
    /// processes committed before it started (READ COMMITTED), so the last SELECT finds a row
    /// that a concurrent INSERT won.
    static func createChannelRowID(_ channel: ChannelKey, _ connection: PostgresConnection) async throws -> Int64 {
        if let existing = try await channelRowID(channel, connection) { return existing }
        if let created = try await connection.query("""
            INSERT INTO channel (platform, server, channel)
            VALUES (\(channel.platform), \(channel.serverID ?? ""), \(channel.channelID))
            ON CONFLICT (platform, server, channel) DO NOTHING RETURNING id
            """, logger: quietLogger).decodeFirst(Int64.self) {
            return created
        }
        guard let existing = try await channelRowID(channel, connection) else {
            throw StorageError(code: .database, message: "channel \(channel) vanished while being created")
        }
        return existing
    }

    private static func insert(
        _ message: StoredMessage, channelRowID: Int64, _ connection: PostgresConnection
    ) async throws -> InsertResult {
        if let rowID = try await connection.query("""
            INSERT INTO message (channel_id, platform_message_id, speaker_id, speaker_name, speaker_kind,
                                 persona_name, text, created_at, reply_to_id, is_edited)
            VALUES (\(channelRowID), \(message.messageID), \(message.speakerID), \(message.speakerName),
                    \(message.kind.rawValue), \(message.personaName), \(message.text),
                    \(message.timestamp.storageMilliseconds), \(message.replyToID), \(message.isEdited))
            ON CONFLICT (channel_id, platform_message_id) DO NOTHING
            RETURNING id
            """, logger: quietLogger).decodeFirst(Int64.self) {
            return InsertResult(rowID: rowID, inserted: true)
        }
        guard let existing = try await connection.query("""
            SELECT id FROM message WHERE channel_id = \(channelRowID) AND platform_message_id = \(message.messageID)
            """, logger: quietLogger).decodeFirst(Int64.self)
        else {
            throw StorageError(code: .database, message: "insert of message \(message.messageID) was ignored")
        }
        return InsertResult(rowID: existing, inserted: false)
    }

    /// One statement for the batch: the rows go in through `unnest`, in batch order (so row ids follow arrival
    /// order); rows that already existed come back from a second query.
    private static func insertBatch(
        _ messages: [StoredMessage], channelRowIDs: [Int64], _ connection: PostgresConnection
    ) async throws -> [InsertResult] {
        // Arrays of optionals do not bind, so nullable columns travel as a value plus a flag.
        let rows = try await connection.query("""
            INSERT INTO message (channel_id, platform_message_id, speaker_id, speaker_name, speaker_kind,
                                 persona_name, text, created_at, reply_to_id, is_edited)
            SELECT channel_id, platform_message_id, speaker_id, speaker_name, speaker_kind,
                   CASE WHEN has_persona THEN persona_name END, text, created_at,
                   CASE WHEN has_reply_to THEN reply_to_id END, is_edited
            FROM unnest(\(channelRowIDs)::BIGINT[], \(messages.map(\.messageID))::TEXT[],
                        \(messages.map(\.speakerID))::TEXT[], \(messages.map(\.speakerName))::TEXT[],
                        \(messages.map(\.kind.rawValue))::TEXT[], \(messages.map { $0.personaName ?? "" })::TEXT[],
                        \(messages.map { $0.personaName != nil })::BOOLEAN[], \(messages.map(\.text))::TEXT[],
                        \(messages.map(\.timestamp.storageMilliseconds))::BIGINT[],
                        \(messages.map { $0.replyToID ?? "" })::TEXT[], \(messages.map { $0.replyToID != nil })::BOOLEAN[],
                        \(messages.map(\.isEdited))::BOOLEAN[])
                 WITH ORDINALITY AS batch(channel_id, platform_message_id, speaker_id, speaker_name, speaker_kind,
                                          persona_name, has_persona, text, created_at, reply_to_id, has_reply_to,
                                          is_edited, position)
            ORDER BY position
            ON CONFLICT (channel_id, platform_message_id) DO NOTHING
            RETURNING id, channel_id, platform_message_id
            """, logger: quietLogger)
        struct Key: Hashable { var channel: Int64; var messageID: String }
        var inserted: [Key: Int64] = [:]
        for try await (id, channel, messageID) in rows.decode((Int64, Int64, String).self) {
            inserted[Key(channel: channel, messageID: messageID)] = id
        }
        var results: [InsertResult] = []
        results.reserveCapacity(messages.count)
        var claimed = Set<Key>()
        for (index, message) in messages.enumerated() {
            let key = Key(channel: channelRowIDs[index], messageID: message.messageID)
            // The first occurrence in the batch is the inserted one; a repeat is a duplicate like any other.
            if let id = inserted[key], claimed.insert(key).inserted {
                results.append(InsertResult(rowID: id, inserted: true))
                continue
            }
            guard let existing = try await connection.query("""
                SELECT id FROM message WHERE channel_id = \(key.channel) AND platform_message_id = \(key.messageID)
                """, logger: quietLogger).decodeFirst(Int64.self)
            else {
                throw StorageError(code: .database, message: "insert of message \(message.messageID) was ignored")
            }
            results.append(InsertResult(rowID: existing, inserted: false))
        }
        return results
    }

    static let messageColumns = """
        message.id, platform_message_id, speaker_id, speaker_name, speaker_kind, persona_name, text, created_at,
        reply_to_id, is_edited
        """

    static func messages(_ rows: PostgresRowSequence, channel: ChannelKey) async throws -> [StoredMessage] {
        var messages: [StoredMessage] = []
        for try await (id, messageID, speakerID, speakerName, kind, personaName, text, createdAt, replyToID, isEdited)
            in rows.decode((Int64, String, String, String, String, String?, String, Int64, String?, Bool).self) {
            messages.append(StoredMessage(
                channel: channel, messageID: messageID, speakerID: speakerID, speakerName: speakerName,
                kind: SpeakerKind(rawValue: kind), personaName: personaName, text: text,
                timestamp: Date(storageMilliseconds: createdAt), replyToID: replyToID, isEdited: isEdited, rowID: id))
        }
        return messages
    }

    /// Which reply `reply(_:lock:_:)` reads.
    private enum ReplyFilter {
        case id(String)
        case newest(channelRowID: Int64, persona: String?)
    }

    /// The reply matching `filter` (the newest one for `.newest`), with its message ids.
    private static func reply(
        _ filter: ReplyFilter, lock: Bool = false, _ connection: PostgresConnection
    ) async throws -> ReplyRecord? {
        let columns = """
            SELECT reply.id, reply.persona_name, reply.trigger_message_id, reply.created_at, reply.was_cut_off,
                   channel.platform, channel.server, channel.channel
            FROM reply JOIN channel ON channel.id = reply.channel_id
            """
        let query: PostgresQuery
        switch filter {
        case .id(let replyID):
            let locking = lock ? "FOR UPDATE OF reply" : ""
            query = "\(unescaped: columns) WHERE reply.id = \(replyID) \(unescaped: locking)"
        case .newest(let channelRowID, let persona):
            query = """
                \(unescaped: columns)
                WHERE reply.channel_id = \(channelRowID) AND (\(persona)::TEXT IS NULL OR reply.persona_name = \(persona))
                ORDER BY reply.created_at DESC, reply.seq DESC LIMIT 1
                """
        }
        var found: (String, String, String?, Int64, Bool, String, String, String)?
        for try await row in try await connection.query(query, logger: quietLogger)
            .decode((String, String, String?, Int64, Bool, String, String, String).self) where found == nil {
            found = row
        }
        guard let (replyID, personaName, triggerMessageID, createdAt, wasCutOff, platform, server, channelID) = found
        else { return nil }
        var messageIDs: [String] = []
        for try await messageID in try await connection.query("""
            SELECT platform_message_id FROM reply_message WHERE reply_id = \(replyID) ORDER BY position
            """, logger: quietLogger).decode(String.self) {
            messageIDs.append(messageID)
        }
        return ReplyRecord(
            replyID: replyID, channel: ChannelKey(platform: platform, serverID: server, channelID: channelID),
            personaName: personaName, triggerMessageID: triggerMessageID, messageIDs: messageIDs,
            createdAt: Date(storageMilliseconds: createdAt), wasCutOff: wasCutOff)
    }
}

import Foundation
import GRDB

extension SQLiteStore {
    /// Stores a message unless its platform id already exists in the channel.
    @discardableResult
    public func insert(_ message: StoredMessage) async throws -> InsertResult {
        try await write("inserting message \(message.messageID) in \(message.channel)") { db in try Self.insert(message, db) }
    }

    /// Stores several messages in one transaction.
    @discardableResult
    public func insert(contentsOf messages: [StoredMessage]) async throws -> [InsertResult] {
        if messages.isEmpty { return [] }
        try checkOpen()
        // Channels known from earlier commits need no look-up; rows this batch creates are remembered only once
        // it has committed (a rolled-back row id must not be reused).
        let channelRows = self.channelRows
        let what = "inserting \(messages.count) messages"
        let inserted: (results: [InsertResult], looked: [ChannelKey: Int64])
        if let historyConnection, writesWaiting.load(ordering: .relaxed) == 0, let written = try inline(what, historyConnection, { db in
            try Self.insertBatch(messages, channelRows: channelRows, db)
        }) {
            inserted = written
            if historyConnection.checkpointDue { await checkpointWAL() }
        } else {
            inserted = try await write(what) { db in try Self.insertBatch(messages, channelRows: channelRows, db) }
        }
        if !inserted.looked.isEmpty { channelRows.remember(inserted.looked) }
        return inserted.results
    }

    /// Runs `body` on the history connection, mapping errors as `write` does; nil when the write lock was taken.
    private func inline<T>(_ what: @autoclosure () -> String, _ connection: HistoryBatchConnection,
                           _ body: (Database) throws -> T) throws -> T? {
        do {
            return try connection.write(body)
        } catch {
            throw mappedError(error, while: what())
        }
    }

    /// A passive checkpoint on the writer's thread, for the WAL the history connection grew (it never
    /// checkpoints itself). A failure loses nothing: the next batch asks again.
    private func checkpointWAL() async {
        do {
            _ = try await writer.writeWithoutTransaction { db in try db.checkpoint(.passive) }
        } catch {
            logger.warning("storage checkpoint after a history batch failed", metadata: ["error": "\(error)"])
        }
    }

    /// The batch's inserts, and the channel rows it looked up or created.
    private static func insertBatch(_ messages: [StoredMessage], channelRows: ChannelRowCache,
                                    _ db: Database) throws -> ([InsertResult], [ChannelKey: Int64]) {
        // The batch's first few channels are looked at in turn before hashing: a flood's batch has a handful, and
        // the keys of one channel share their strings, so most comparisons end at the first word. The rest (a
        // batch across thousands of channels) go by the dictionary.
        var recent: [(channel: ChannelKey, rowID: Int64)] = []
        var channelRowIDs: [ChannelKey: Int64] = [:]
        var looked: [ChannelKey: Int64] = [:]
        let statement = try insertStatement(db)
        let insert = BatchInsert(statement)
        defer { insert.finish() }
        var results: [InsertResult] = []
        results.reserveCapacity(messages.count)
        // Each message is read in place: iterating copied it, retaining and releasing each of its strings.
        try messages.withUnsafeBufferPointer { batch in
            for index in batch.indices {
                let channelRowID: Int64
                if let known = recent.first(where: { $0.channel == batch[index].channel }) {
                    channelRowID = known.rowID
                } else if let known = channelRowIDs[batch[index].channel] {
                    channelRowID = known
                } else {
                    if let committed = channelRows.rowID(of: batch[index].channel) {
                        channelRowID = committed
                    } else {
                        channelRowID = try createChannelRowID(batch[index].channel, db)
                        looked[batch[index].channel] = channelRowID
                    }
                    channelRowIDs[batch[index].channel] = channelRowID
                    if recent.count < 8 { recent.append((batch[index].channel, channelRowID)) }
                }
                if let rowID = try insert.run(batch[index], channelRowID: channelRowID, db) {
                    results.append(InsertResult(rowID: rowID, inserted: true))
                } else {
                    results.append(InsertResult(rowID: try existingRowID(batch[index], channelRowID: channelRowID, db), inserted: false))
                }
            }
        }
        return (results, looked)
    }

    /// The live message with this platform id, if stored.
    public func message(in channel: ChannelKey, messageID: String) async throws -> StoredMessage? {
        try await read("reading message \(messageID) in \(channel)") { db in
            guard let channelRowID = try Self.channelRowID(channel, db) else { return nil }
            let row = try Row.fetchOne(db, sql: """
                SELECT * FROM message
                WHERE channel_id = ? AND platform_message_id = ? AND deleted_at IS NULL
                """, arguments: [channelRowID, messageID])
            return row.map { Self.message(from: $0, channel: channel) }
        }
    }

    /// Replaces the text of a live message; an edit older than the last applied one is ignored.
    @discardableResult
    public func applyEdit(in channel: ChannelKey, messageID: String, newText: String, editedAt: Date) async throws -> Bool {
        try await write("editing message \(messageID) in \(channel)") { db in
            guard let channelRowID = try Self.channelRowID(channel, db) else { return false }
            try db.execute(sql: """
                UPDATE message SET text = ?, is_edited = 1, edited_at = ?
                WHERE channel_id = ? AND platform_message_id = ? AND deleted_at IS NULL
                  AND (edited_at IS NULL OR edited_at <= ?)
                """, arguments: [newText, editedAt.storageMilliseconds, channelRowID, messageID,
                                 editedAt.storageMilliseconds])
            return db.changesCount > 0
        }
    }

    /// Replaces the text only when `editorID` spoke the message and it is not a persona's.
    @discardableResult
    public func applyEdit(in channel: ChannelKey, messageID: String, newText: String, editedAt: Date,
                          by editorID: String) async throws -> Bool {
        try await write("editing message \(messageID) in \(channel)") { db in
            guard let channelRowID = try Self.channelRowID(channel, db) else { return false }
            try db.execute(sql: """
                UPDATE message SET text = ?, is_edited = 1, edited_at = ?
                WHERE channel_id = ? AND platform_message_id = ? AND deleted_at IS NULL
                  AND (edited_at IS NULL OR edited_at <= ?)
                  AND speaker_id = ? AND speaker_kind <> ?
                """, arguments: [newText, editedAt.storageMilliseconds, channelRowID, messageID,
                                 editedAt.storageMilliseconds, editorID, SpeakerKind.persona.rawValue])
            return db.changesCount > 0
        }
    }

    /// Tombstones a message and clears its text.
    @discardableResult
    public func applyDeletion(in channel: ChannelKey, messageID: String, deletedAt: Date) async throws -> Bool {
        try await write("deleting message \(messageID) in \(channel)") { db in
            guard let channelRowID = try Self.channelRowID(channel, db) else { return false }
            try db.execute(sql: """
                UPDATE message SET text = '', deleted_at = ?
                WHERE channel_id = ? AND platform_message_id = ? AND deleted_at IS NULL
                """, arguments: [deletedAt.storageMilliseconds, channelRowID, messageID])
            return db.changesCount > 0
        }
    }

    /// The newest `limit` live messages (after `rowID` when given), oldest first.
    public func recentMessages(in channel: ChannelKey, limit: Int, after rowID: Int64?) async throws -> [StoredMessage] {
        guard limit >= 0 else {
            throw StorageError(code: .invalidArgument, message: "history limit must not be negative, got \(limit)",
                               location: location.description)
        }
        if limit == 0 { return [] }
        return try await read("reading history of \(channel)") { db in
            guard let channelRowID = try Self.channelRowID(channel, db) else { return [] }
            let rows = try Row.fetchAll(db, sql: """
                SELECT * FROM (
                    SELECT * FROM message
                    WHERE channel_id = ? AND deleted_at IS NULL AND id > ?
                    ORDER BY created_at DESC, id DESC
                    LIMIT ?
                ) ORDER BY created_at, id
                """, arguments: [channelRowID, rowID ?? 0, limit])
            return rows.map { Self.message(from: $0, channel: channel) }
        }
    }

    /// The number of live messages in the channel.
    public func messageCount(in channel: ChannelKey) async throws -> Int {
        try await read("counting messages in \(channel)") { db in
            guard let channelRowID = try Self.channelRowID(channel, db) else { return 0 }
            return try Int.fetchOne(db, sql: """
                SELECT count(*) FROM message WHERE channel_id = ? AND deleted_at IS NULL
                """, arguments: [channelRowID]) ?? 0
        }
    }

    /// Forgets every live message of the channel.
    @discardableResult
    public func resetHistory(in channel: ChannelKey) async throws -> Int {
        let now = Date().storageMilliseconds
        return try await write("resetting history of \(channel)") { db in
            guard let channelRowID = try Self.channelRowID(channel, db) else { return 0 }
            try db.execute(sql: """
                UPDATE message SET text = '', deleted_at = ? WHERE channel_id = ? AND deleted_at IS NULL
                """, arguments: [now, channelRowID])
            return db.changesCount
        }
    }

    /// Forgets the newest `count` live messages of the channel.
    @discardableResult
    public func forgetLast(_ count: Int, in channel: ChannelKey) async throws -> Int {
        guard count >= 0 else {
            throw StorageError(code: .invalidArgument, message: "forget count must not be negative, got \(count)",
                               location: location.description)
        }
        if count == 0 { return 0 }
        let now = Date().storageMilliseconds
        return try await write("forgetting \(count) messages in \(channel)") { db in
            guard let channelRowID = try Self.channelRowID(channel, db) else { return 0 }
            try db.execute(sql: """
                UPDATE message SET text = '', deleted_at = ?
                WHERE id IN (
                    SELECT id FROM message WHERE channel_id = ? AND deleted_at IS NULL
                    ORDER BY created_at DESC, id DESC LIMIT ?
                )
                """, arguments: [now, channelRowID, count])
            return db.changesCount
        }
    }

    // MARK: Replies

    /// Records a reply, replacing any record with the same id.
    public func recordReply(_ reply: ReplyRecord) async throws {
        try await durableWrite("recording reply \(reply.replyID) in \(reply.channel)") { db in
            let channelRowID = try Self.createChannelRowID(reply.channel, db)
            try db.execute(sql: """
                INSERT INTO reply (id, channel_id, persona_name, trigger_message_id, created_at, was_cut_off)
                VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT (id) DO UPDATE SET
                    channel_id = excluded.channel_id, persona_name = excluded.persona_name,
                    trigger_message_id = excluded.trigger_message_id, created_at = excluded.created_at,
                    was_cut_off = excluded.was_cut_off
                """, arguments: [reply.replyID, channelRowID, reply.personaName, reply.triggerMessageID,
                                 reply.createdAt.storageMilliseconds, reply.wasCutOff])
            try db.execute(sql: "DELETE FROM reply_message WHERE reply_id = ?", arguments: [reply.replyID])
            for (position, messageID) in reply.messageIDs.enumerated() {
                try db.execute(sql: """
                    INSERT INTO reply_message (reply_id, position, platform_message_id) VALUES (?, ?, ?)
                    """, arguments: [reply.replyID, position, messageID])
            }
        }
    }

    /// The reply with this id, if recorded.
    public func reply(id replyID: String) async throws -> ReplyRecord? {
        try await read("reading reply \(replyID)") { db in
            let row = try Row.fetchOne(db, sql: """
                SELECT reply.*, channel.platform, channel.server, channel.channel
                FROM reply JOIN channel ON channel.id = reply.channel_id
                WHERE reply.id = ?
                """, arguments: [replyID])
            return try row.map { try Self.reply(from: $0, db) }
        }
    }

    /// The newest reply in the channel, optionally by one persona.
    public func lastReply(in channel: ChannelKey, persona: String?) async throws -> ReplyRecord? {
        try await read("reading the last reply in \(channel)") { db in
            guard let channelRowID = try Self.channelRowID(channel, db) else { return nil }
            let row = try Row.fetchOne(db, sql: """
                SELECT reply.*, channel.platform, channel.server, channel.channel
                FROM reply JOIN channel ON channel.id = reply.channel_id
                WHERE reply.channel_id = ? AND (? IS NULL OR reply.persona_name = ?)
                ORDER BY reply.created_at DESC, reply.rowid DESC
                LIMIT 1
                """, arguments: [channelRowID, persona, persona])
            return try row.map { try Self.reply(from: $0, db) }
        }
    }

    /// Deletes a reply record and tombstones its messages.
    @discardableResult
    public func removeReply(id replyID: String) async throws -> ReplyRecord? {
        let now = Date().storageMilliseconds
        return try await write("removing reply \(replyID)") { db in
            guard let row = try Row.fetchOne(db, sql: """
                SELECT reply.*, channel.platform, channel.server, channel.channel
                FROM reply JOIN channel ON channel.id = reply.channel_id
                WHERE reply.id = ?
                """, arguments: [replyID])
            else { return nil }
            let record = try Self.reply(from: row, db)
            let channelRowID: Int64 = row["channel_id"]
            for messageID in record.messageIDs {
                try db.execute(sql: """
                    UPDATE message SET text = '', deleted_at = ?
                    WHERE channel_id = ? AND platform_message_id = ? AND deleted_at IS NULL
                    """, arguments: [now, channelRowID, messageID])
            }
            try db.execute(sql: "DELETE FROM reply WHERE id = ?", arguments: [replyID])
            return record
        }
    }

    // MARK: Row helpers

    /// The channel's row id, or `nil` when nothing was ever stored for it.
    static func channelRowID(_ channel: ChannelKey, _ db: Database) throws -> Int64? {
        // Cached: nearly every store call starts here, and compiling the query each time cost more than running it.
        try Int64.fetchOne(db.cachedStatement(sql: """
            SELECT id FROM channel WHERE platform = ? AND server = ? AND channel = ?
            """), arguments: [channel.platform, channel.serverID ?? "", channel.channelID])
    }

    /// The channel's row id, creating the row when missing.
    static func createChannelRowID(_ channel: ChannelKey, _ db: Database) throws -> Int64 {
        if let existing = try channelRowID(channel, db) { return existing }
        try db.execute(sql: "INSERT INTO channel (platform, server, channel) VALUES (?, ?, ?)",
                       arguments: [channel.platform, channel.serverID ?? "", channel.channelID])
        return db.lastInsertedRowID
    }

    static func channelKey(from row: Row) -> ChannelKey {
        ChannelKey(platform: row["platform"], serverID: row["server"], channelID: row["channel"])
    }

    private static func insert(_ message: StoredMessage, _ db: Database) throws -> InsertResult {
        try insert(message, channelRowID: try createChannelRowID(message.channel, db), db)
    }

    /// The message insert, compiled once per connection (compiling it per message cost more than the insert).
    static func insertStatement(_ db: Database) throws -> Statement {
        try db.cachedStatement(sql: """
            INSERT INTO message (channel_id, platform_message_id, speaker_id, speaker_name, speaker_kind,
                                 persona_name, text, created_at, reply_to_id, is_edited)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (channel_id, platform_message_id) DO NOTHING
            """)
    }

    private static func insert(_ message: StoredMessage, channelRowID: Int64, _ db: Database) throws -> InsertResult {
        try insert(message, channelRowID: channelRowID, statement: try insertStatement(db), db)
    }

    /// Inserts with a statement the caller looked up once (the cache lookup hashes the whole SQL text).
    private static func insert(_ message: StoredMessage, channelRowID: Int64, statement: Statement, _ db: Database) throws -> InsertResult {
        try statement.execute(arguments: [channelRowID, message.messageID, message.speakerID, message.speakerName,
                             message.kind.rawValue, message.personaName, message.text,
                             message.timestamp.storageMilliseconds, message.replyToID, message.isEdited])
        if db.changesCount > 0 {
            return InsertResult(rowID: db.lastInsertedRowID, inserted: true)
        }
        return InsertResult(rowID: try existingRowID(message, channelRowID: channelRowID, db), inserted: false)
    }

    /// The row of a message an insert found already stored.
    private static func existingRowID(_ message: StoredMessage, channelRowID: Int64, _ db: Database) throws -> Int64 {
        let existing = try Int64.fetchOne(db, sql: """
            SELECT id FROM message WHERE channel_id = ? AND platform_message_id = ?
            """, arguments: [channelRowID, message.messageID])
        guard let existing else {
            throw StorageError(code: .database, message: "insert of message \(message.messageID) was ignored",
                               location: nil)
        }
        return existing
    }

    static func message(from row: Row, channel: ChannelKey) -> StoredMessage {
        StoredMessage(
            channel: channel,
            messageID: row["platform_message_id"],
            speakerID: row["speaker_id"],
            speakerName: row["speaker_name"],
            kind: SpeakerKind(rawValue: row["speaker_kind"]),
            personaName: row["persona_name"],
            text: row["text"],
            timestamp: Date(storageMilliseconds: row["created_at"]),
            replyToID: row["reply_to_id"],
            isEdited: row["is_edited"],
            rowID: row["id"])
    }

    private static func reply(from row: Row, _ db: Database) throws -> ReplyRecord {
        let replyID: String = row["id"]
        let messageIDs = try String.fetchAll(db, sql: """
            SELECT platform_message_id FROM reply_message WHERE reply_id = ? ORDER BY position
            """, arguments: [replyID])
        return ReplyRecord(
            replyID: replyID,
            channel: channelKey(from: row),
            personaName: row["persona_name"],
            triggerMessageID: row["trigger_message_id"],
            messageIDs: messageIDs,
            createdAt: Date(storageMilliseconds: row["created_at"]),
            wasCutOff: row["was_cut_off"])
    }
}

import Foundation
import GRDB

extension SQLiteStore {
    /// Stores a prompt record and drops the channel's older ones beyond `keepingLast`.
    public func recordPrompt(_ record: PromptRecord, keepingLast: Int) async throws {
        let keep = max(1, keepingLast)
        try await write("recording the prompt of request \(record.requestID)") { db in
            let channelRowID = try Self.createChannelRowID(record.channel, db)
            try db.execute(sql: """
                INSERT INTO prompt_record (request_id, channel_id, reply_id, persona_name, created_at, document)
                VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT (request_id) DO UPDATE SET reply_id = excluded.reply_id, document = excluded.document
                """, arguments: [record.requestID, channelRowID, record.replyID, record.personaName,
                                 record.createdAt.storageMilliseconds, record.document])
            try db.execute(sql: """
                DELETE FROM prompt_record WHERE channel_id = ? AND request_id NOT IN (
                    SELECT request_id FROM prompt_record WHERE channel_id = ?
                    ORDER BY created_at DESC, request_id DESC LIMIT ?)
                """, arguments: [channelRowID, channelRowID, keep])
        }
    }

    /// The channel's prompt records, newest first.
    public func promptRecords(in channel: ChannelKey, limit: Int) async throws -> [PromptRecord] {
        try await read("reading prompt records of \(channel)") { db in
            guard let channelRowID = try Self.channelRowID(channel, db) else { return [] }
            return try Row.fetchAll(db, sql: """
                SELECT request_id, reply_id, persona_name, created_at, document FROM prompt_record
                WHERE channel_id = ? ORDER BY created_at DESC, request_id DESC LIMIT ?
                """, arguments: [channelRowID, max(0, limit)]).map { row in
                PromptRecord(requestID: row[0], channel: channel, replyID: row[1], personaName: row[2],
                             createdAt: Date(storageMilliseconds: row[3]), document: row[4])
            }
        }
    }

    /// A reply's alternatives, if any.
    public func replyAlternatives(in channel: ChannelKey, replyID: String) async throws -> ReplyAlternatives? {
        try await read("reading alternatives of reply \(replyID)") { db in
            guard let channelRowID = try Self.channelRowID(channel, db),
                  let row = try Row.fetchOne(db, sql: """
                      SELECT texts, shown FROM reply_alternative WHERE channel_id = ? AND reply_id = ?
                      """, arguments: [channelRowID, replyID]) else { return nil }
            let texts = try ReplyAlternatives.decodeTexts(row[0])
            return ReplyAlternatives(channel: channel, replyID: replyID, texts: texts, shown: row[1])
        }
    }

    /// Replaces a reply's alternatives.
    public func setReplyAlternatives(_ alternatives: ReplyAlternatives) async throws {
        let texts = try ReplyAlternatives.encodeTexts(alternatives.texts)
        let now = Date().storageMilliseconds
        try await write("storing alternatives of reply \(alternatives.replyID)") { db in
            let channelRowID = try Self.createChannelRowID(alternatives.channel, db)
            try db.execute(sql: """
                INSERT INTO reply_alternative (channel_id, reply_id, texts, shown, updated_at) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT (channel_id, reply_id) DO UPDATE SET
                    texts = excluded.texts, shown = excluded.shown, updated_at = excluded.updated_at
                """, arguments: [channelRowID, alternatives.replyID, texts, alternatives.shown, now])
        }
    }

    /// Forgets a reply's alternatives.
    @discardableResult
    public func removeReplyAlternatives(in channel: ChannelKey, replyID: String) async throws -> Bool {
        try await write("removing alternatives of reply \(replyID)") { db in
            guard let channelRowID = try Self.channelRowID(channel, db) else { return false }
            try db.execute(sql: "DELETE FROM reply_alternative WHERE channel_id = ? AND reply_id = ?",
                           arguments: [channelRowID, replyID])
            return db.changesCount > 0
        }
    }
}

extension ReplyAlternatives {
    /// The texts as the JSON array both backends store.
    package static func encodeTexts(_ texts: [String]) throws -> String {
        do {
            return String(decoding: try JSONEncoder().encode(texts), as: UTF8.self)
        } catch {
            throw StorageError(code: .invalidArgument, message: "reply alternatives could not be encoded: \(error)")
        }
    }

    /// Texts from the stored JSON array.
    package static func decodeTexts(_ json: String) throws -> [String] {
        do {
            return try JSONDecoder().decode([String].self, from: Data(json.utf8))
        } catch {
            throw StorageError(code: .corrupt, message: "stored reply alternatives are not a JSON array of strings")
        }
    }
}

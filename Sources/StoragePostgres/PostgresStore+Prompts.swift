import Foundation
import Storage
internal import PostgresNIO

extension PostgresStore {
    /// Stores a prompt record and drops the channel's older ones beyond `keepingLast`.
    public func recordPrompt(_ record: PromptRecord, keepingLast: Int) async throws {
        let keep = max(1, keepingLast)
        let createdAt = record.createdAt.storageMilliseconds
        try await transaction("recording the prompt of request \(record.requestID)") { connection in
            let channelRowID = try await Self.createChannelRowID(record.channel, connection)
            try await connection.query("""
                INSERT INTO prompt_record (request_id, channel_id, reply_id, persona_name, created_at, document)
                VALUES (\(record.requestID), \(channelRowID), \(record.replyID), \(record.personaName), \(createdAt),
                        \(record.document))
                ON CONFLICT (request_id) DO UPDATE SET reply_id = excluded.reply_id, document = excluded.document
                """, logger: Self.quietLogger).drain()
            try await connection.query("""
                DELETE FROM prompt_record WHERE channel_id = \(channelRowID) AND request_id NOT IN (
                    SELECT request_id FROM prompt_record WHERE channel_id = \(channelRowID)
                    ORDER BY created_at DESC, request_id DESC LIMIT \(keep))
                """, logger: Self.quietLogger).drain()
        }
    }

    /// The channel's prompt records, newest first.
    public func promptRecords(in channel: ChannelKey, limit: Int) async throws -> [PromptRecord] {
        let limit = max(0, limit)
        return try await withConnection("reading prompt records of \(channel)") { connection in
            guard let channelRowID = try await Self.channelRowID(channel, connection) else { return [] }
            var records: [PromptRecord] = []
            for try await (requestID, replyID, persona, createdAt, document) in try await connection.query("""
                SELECT request_id, reply_id, persona_name, created_at, document FROM prompt_record
                WHERE channel_id = \(channelRowID) ORDER BY created_at DESC, request_id DESC LIMIT \(limit)
                """, logger: Self.quietLogger).decode((String, String?, String, Int64, String).self) {
                records.append(PromptRecord(requestID: requestID, channel: channel, replyID: replyID, personaName: persona,
                                            createdAt: Date(storageMilliseconds: createdAt), document: document))
            }
            return records
        }
    }

    /// A reply's alternatives, if any.
    public func replyAlternatives(in channel: ChannelKey, replyID: String) async throws -> ReplyAlternatives? {
        try await withConnection("reading alternatives of reply \(replyID)") { connection in
            guard let channelRowID = try await Self.channelRowID(channel, connection) else { return nil }
            for try await (texts, shown) in try await connection.query("""
                SELECT texts, shown FROM reply_alternative WHERE channel_id = \(channelRowID) AND reply_id = \(replyID)
                """, logger: Self.quietLogger).decode((String, Int64).self) {
                return ReplyAlternatives(channel: channel, replyID: replyID,
                                         texts: try ReplyAlternatives.decodeTexts(texts), shown: Int(shown))
            }
            return nil
        }
    }

    /// Replaces a reply's alternatives.
    public func setReplyAlternatives(_ alternatives: ReplyAlternatives) async throws {
        let texts = try ReplyAlternatives.encodeTexts(alternatives.texts)
        let shown = Int64(alternatives.shown)
        let now = Date().storageMilliseconds
        try await withConnection("storing alternatives of reply \(alternatives.replyID)") { connection in
            let channelRowID = try await Self.createChannelRowID(alternatives.channel, connection)
            try await connection.query("""
                INSERT INTO reply_alternative (channel_id, reply_id, texts, shown, updated_at)
                VALUES (\(channelRowID), \(alternatives.replyID), \(texts), \(shown), \(now))
                ON CONFLICT (channel_id, reply_id) DO UPDATE SET
                    texts = excluded.texts, shown = excluded.shown, updated_at = excluded.updated_at
                """, logger: Self.quietLogger).drain()
        }
    }

    /// Forgets a reply's alternatives.
    @discardableResult
    public func removeReplyAlternatives(in channel: ChannelKey, replyID: String) async throws -> Bool {
        try await withConnection("removing alternatives of reply \(replyID)") { connection in
            guard let channelRowID = try await Self.channelRowID(channel, connection) else { return false }
            return try await connection.query("""
                DELETE FROM reply_alternative WHERE channel_id = \(channelRowID) AND reply_id = \(replyID) RETURNING 1
                """, logger: Self.quietLogger).hasRows()
        }
    }
}

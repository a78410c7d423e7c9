import Foundation
import GRDB

extension SQLiteStore {
    /// The scene's memory entries and cursor.
    public func sceneMemory(in channel: ChannelKey) async throws -> SceneMemory {
        try await read("reading the memory of \(channel)") { db in
            guard let channelRowID = try Self.channelRowID(channel, db) else { return SceneMemory() }
            let entries = try Row.fetchAll(db, sql: """
                SELECT id, kind, text, first_message_row_id, last_message_row_id, created_by, created_at
                FROM scene_memory WHERE channel_id = ? ORDER BY id
                """, arguments: [channelRowID]).map { row in
                MemoryEntry(id: row[0], kind: MemoryEntryKind(rawValue: row[1]), text: row[2], firstMessageRowID: row[3],
                            lastMessageRowID: row[4], createdBy: row[5], createdAt: Date(storageMilliseconds: row[6]))
            }
            let cursor = try Int64.fetchOne(db, sql: "SELECT summarized_through FROM scene_memory_cursor WHERE channel_id = ?",
                                            arguments: [channelRowID]) ?? 0
            return SceneMemory(entries: entries, summarizedThrough: cursor)
        }
    }

    /// Live messages between two row ids, oldest first by row id.
    public func messages(in channel: ChannelKey, after: Int64, before: Int64, limit: Int) async throws -> [StoredMessage] {
        guard limit >= 0 else {
            throw StorageError(code: .invalidArgument, message: "span limit must not be negative, got \(limit)",
                               location: location.description)
        }
        if limit == 0 || before <= after + 1 { return [] }
        return try await read("reading a history span of \(channel)") { db in
            guard let channelRowID = try Self.channelRowID(channel, db) else { return [] }
            return try Row.fetchAll(db, sql: """
                SELECT * FROM message WHERE channel_id = ? AND deleted_at IS NULL AND id > ? AND id < ?
                ORDER BY id LIMIT ?
                """, arguments: [channelRowID, after, before, limit]).map { Self.message(from: $0, channel: channel) }
        }
    }

    /// Stores a summary and moves the cursor, only while the cursor is still `expectedCursor`.
    public func appendMemorySummary(_ summary: MemorySummaryDraft, in channel: ChannelKey, expectedCursor: Int64) async throws -> Bool {
        let now = Date().storageMilliseconds
        return try await write("storing a memory summary of \(channel)") { db in
            let channelRowID = try Self.createChannelRowID(channel, db)
            let cursor = try Int64.fetchOne(db, sql: "SELECT summarized_through FROM scene_memory_cursor WHERE channel_id = ?",
                                            arguments: [channelRowID]) ?? 0
            guard cursor == expectedCursor, summary.lastMessageRowID > cursor else { return false }
            try db.execute(sql: """
                INSERT INTO scene_memory_cursor (channel_id, summarized_through, updated_at) VALUES (?, ?, ?)
                ON CONFLICT (channel_id) DO UPDATE SET summarized_through = excluded.summarized_through,
                    updated_at = excluded.updated_at
                """, arguments: [channelRowID, summary.lastMessageRowID, now])
            if !summary.text.isEmpty {
                try db.execute(sql: """
                    INSERT INTO scene_memory (channel_id, kind, text, first_message_row_id, last_message_row_id, created_at)
                    VALUES (?, ?, ?, ?, ?, ?)
                    """, arguments: [channelRowID, MemoryEntryKind.summary.rawValue, summary.text, summary.firstMessageRowID,
                                     summary.lastMessageRowID, now])
            }
            return true
        }
    }

    /// Replaces several summaries with one, in the oldest one's place.
    public func foldMemorySummaries(_ ids: [Int64], into text: String, in channel: ChannelKey) async throws -> Bool {
        guard let oldest = ids.min() else { return false }
        return try await write("folding memory summaries of \(channel)") { db in
            guard let channelRowID = try Self.channelRowID(channel, db) else { return false }
            let placeholders = Array(repeating: "?", count: ids.count).joined(separator: ", ")
            let values: [(any DatabaseValueConvertible)?] = [channelRowID, MemoryEntryKind.summary.rawValue] + ids.map { $0 }
            let arguments = StatementArguments(values)
            let found = try Row.fetchAll(db, sql: """
                SELECT first_message_row_id, last_message_row_id FROM scene_memory
                WHERE channel_id = ? AND kind = ? AND id IN (\(placeholders))
                """, arguments: arguments)
            guard found.count == Set(ids).count else { return false }
            let first = found.compactMap { $0[0] as Int64? }.min()
            let last = found.compactMap { $0[1] as Int64? }.max()
            try db.execute(sql: """
                UPDATE scene_memory SET text = ?, first_message_row_id = ?, last_message_row_id = ?, created_at = ?
                WHERE id = ?
                """, arguments: [text, first, last, Date().storageMilliseconds, oldest])
            let others = ids.filter { $0 != oldest }
            if !others.isEmpty {
                try db.execute(sql: "DELETE FROM scene_memory WHERE id IN (\(Array(repeating: "?", count: others.count).joined(separator: ", ")))",
                               arguments: StatementArguments(others))
            }
            return true
        }
    }

    /// Pins a fact.
    public func addPinnedFact(_ text: String, by userID: String, in channel: ChannelKey) async throws -> MemoryEntry {
        let now = Date()
        return try await write("pinning a memory fact in \(channel)") { db in
            let channelRowID = try Self.createChannelRowID(channel, db)
            try db.execute(sql: """
                INSERT INTO scene_memory (channel_id, kind, text, created_by, created_at) VALUES (?, ?, ?, ?, ?)
                """, arguments: [channelRowID, MemoryEntryKind.pinned.rawValue, text, userID, now.storageMilliseconds])
            return MemoryEntry(id: db.lastInsertedRowID, kind: .pinned, text: text, createdBy: userID,
                               createdAt: Date(storageMilliseconds: now.storageMilliseconds))
        }
    }

    /// Forgets the scene's memory entries; the cursor stays.
    @discardableResult
    public func forgetMemory(in channel: ChannelKey) async throws -> Int {
        try await write("forgetting the memory of \(channel)") { db in
            guard let channelRowID = try Self.channelRowID(channel, db) else { return 0 }
            try db.execute(sql: "DELETE FROM scene_memory WHERE channel_id = ?", arguments: [channelRowID])
            return db.changesCount
        }
    }
}

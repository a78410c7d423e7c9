import Foundation
import Storage
internal import PostgresNIO

extension PostgresStore {
    /// The scene's memory entries and cursor.
    public func sceneMemory(in channel: ChannelKey) async throws -> SceneMemory {
        try await withConnection("reading the memory of \(channel)") { connection in
            guard let channelRowID = try await Self.channelRowID(channel, connection) else { return SceneMemory() }
            var entries: [MemoryEntry] = []
            for try await (id, kind, text, first, last, by, at) in try await connection.query("""
                SELECT id, kind, text, first_message_row_id, last_message_row_id, created_by, created_at
                FROM scene_memory WHERE channel_id = \(channelRowID) ORDER BY id
                """, logger: Self.quietLogger).decode((Int64, String, String, Int64?, Int64?, String?, Int64).self) {
                entries.append(MemoryEntry(id: id, kind: MemoryEntryKind(rawValue: kind), text: text, firstMessageRowID: first,
                                           lastMessageRowID: last, createdBy: by, createdAt: Date(storageMilliseconds: at)))
            }
            let cursor = try await connection.query("""
                SELECT summarized_through FROM scene_memory_cursor WHERE channel_id = \(channelRowID)
                """, logger: Self.quietLogger).decodeFirst(Int64.self) ?? 0
            return SceneMemory(entries: entries, summarizedThrough: cursor)
        }
    }

    /// Live messages between two row ids, oldest first by row id.
    public func messages(in channel: ChannelKey, after: Int64, before: Int64, limit: Int) async throws -> [StoredMessage] {
        guard limit >= 0 else {
            throw StorageError(code: .invalidArgument, message: "span limit must not be negative, got \(limit)",
                               location: configuration.description)
        }
        if limit == 0 || before <= after + 1 { return [] }
        return try await withConnection("reading a history span of \(channel)") { connection in
            guard let channelRowID = try await Self.channelRowID(channel, connection) else { return [] }
            let rows = try await connection.query("""
                SELECT \(unescaped: Self.messageColumns) FROM message
                WHERE channel_id = \(channelRowID) AND deleted_at IS NULL AND id > \(after) AND id < \(before)
                ORDER BY id LIMIT \(limit)
                """, logger: Self.quietLogger)
            return try await Self.messages(rows, channel: channel)
        }
    }

    /// Stores a summary and moves the cursor, only while the cursor is still `expectedCursor`.
    public func appendMemorySummary(_ summary: MemorySummaryDraft, in channel: ChannelKey, expectedCursor: Int64) async throws -> Bool {
        guard summary.lastMessageRowID > expectedCursor else { return false }
        let now = Date().storageMilliseconds
        return try await transaction("storing a memory summary of \(channel)") { connection in
            let channelRowID = try await Self.createChannelRowID(channel, connection)
            // One statement is the compare-and-set: a process that summarised the same span first wins, the other
            // writes nothing (an upsert that meets a concurrent insert waits for it, then checks the condition).
            let updated: Bool
            if expectedCursor == 0 {
                updated = try await connection.query("""
                    INSERT INTO scene_memory_cursor (channel_id, summarized_through, updated_at)
                    VALUES (\(channelRowID), \(summary.lastMessageRowID), \(now))
                    ON CONFLICT (channel_id) DO UPDATE SET summarized_through = excluded.summarized_through,
                        updated_at = excluded.updated_at
                    WHERE scene_memory_cursor.summarized_through = 0
                    RETURNING 1
                    """, logger: Self.quietLogger).hasRows()
            } else {
                updated = try await connection.query("""
                    UPDATE scene_memory_cursor SET summarized_through = \(summary.lastMessageRowID), updated_at = \(now)
                    WHERE channel_id = \(channelRowID) AND summarized_through = \(expectedCursor) RETURNING 1
                    """, logger: Self.quietLogger).hasRows()
            }
            guard updated else { return false }
            if !summary.text.isEmpty {
                try await connection.query("""
                    INSERT INTO scene_memory (channel_id, kind, text, first_message_row_id, last_message_row_id, created_at)
                    VALUES (\(channelRowID), \(MemoryEntryKind.summary.rawValue), \(summary.text), \(summary.firstMessageRowID),
                            \(summary.lastMessageRowID), \(now))
                    """, logger: Self.quietLogger).drain()
            }
            return true
        }
    }

    /// Replaces several summaries with one, in the oldest one's place.
    public func foldMemorySummaries(_ ids: [Int64], into text: String, in channel: ChannelKey) async throws -> Bool {
        guard let oldest = ids.min() else { return false }
        let unique = Array(Set(ids))
        let now = Date().storageMilliseconds
        return try await transaction("folding memory summaries of \(channel)") { connection in
            guard let channelRowID = try await Self.channelRowID(channel, connection) else { return false }
            var found = 0
            var first: Int64?
            var last: Int64?
            for try await (from, through) in try await connection.query("""
                SELECT first_message_row_id, last_message_row_id FROM scene_memory
                WHERE channel_id = \(channelRowID) AND kind = \(MemoryEntryKind.summary.rawValue) AND id = ANY(\(unique))
                FOR UPDATE
                """, logger: Self.quietLogger).decode((Int64?, Int64?).self) {
                found += 1
                if let from { first = min(first ?? from, from) }
                if let through { last = max(last ?? through, through) }
            }
            guard found == unique.count else { return false }
            try await connection.query("""
                UPDATE scene_memory SET text = \(text), first_message_row_id = \(first), last_message_row_id = \(last),
                    created_at = \(now)
                WHERE id = \(oldest)
                """, logger: Self.quietLogger).drain()
            let others = unique.filter { $0 != oldest }
            if !others.isEmpty {
                try await connection.query("DELETE FROM scene_memory WHERE id = ANY(\(others))", logger: Self.quietLogger).drain()
            }
            return true
        }
    }

    /// Pins a fact.
    public func addPinnedFact(_ text: String, by userID: String, in channel: ChannelKey) async throws -> MemoryEntry {
        let now = Date().storageMilliseconds
        return try await transaction("pinning a memory fact in \(channel)") { connection in
            let channelRowID = try await Self.createChannelRowID(channel, connection)
            let id = try await connection.query("""
                INSERT INTO scene_memory (channel_id, kind, text, created_by, created_at)
                VALUES (\(channelRowID), \(MemoryEntryKind.pinned.rawValue), \(text), \(userID), \(now)) RETURNING id
                """, logger: Self.quietLogger).decodeFirst(Int64.self)
            guard let id else {
                throw StorageError(code: .database, message: "pinning a fact returned no id", location: configuration.description)
            }
            return MemoryEntry(id: id, kind: .pinned, text: text, createdBy: userID, createdAt: Date(storageMilliseconds: now))
        }
    }

    /// Forgets the scene's memory entries; the cursor stays.
    @discardableResult
    public func forgetMemory(in channel: ChannelKey) async throws -> Int {
        try await withConnection("forgetting the memory of \(channel)") { connection in
            guard let channelRowID = try await Self.channelRowID(channel, connection) else { return 0 }
            var count = 0
            for try await _ in try await connection.query("""
                DELETE FROM scene_memory WHERE channel_id = \(channelRowID) RETURNING id
                """, logger: Self.quietLogger).decode(Int64.self) {
                count += 1
            }
            return count
        }
    }
}

import Foundation
import GRDB
import Testing

@testable import Storage

/// Databases that earlier versions left behind open with everything in them.
@Suite("SQLiteStore migrations")
struct SQLiteStoreMigrationTests {
    @Test("v5 rebuilds the message table without AUTOINCREMENT and keeps every row, id and tombstone; new ids come after them")
    func messageTableLosesAutoincrementAndKeepsRows() async throws {
        let directory = try TemporaryDirectory()
        defer { try? directory.remove() }
        let path = directory.file("bridge.sqlite")
        // The schema as the last version before v5 left it, with history in two channels and a tombstone.
        do {
            let queue = try DatabaseQueue(path: path)
            try SQLiteStore.migrator.migrate(queue, upTo: "v4-scene-activation")
            try await queue.write { db in
                try db.execute(sql: """
                    INSERT INTO channel (id, platform, server, channel) VALUES (1, 'discord', 'guild-1', 'general'),
                                                                           (2, 'discord', 'guild-1', 'random');
                    INSERT INTO message (channel_id, platform_message_id, speaker_id, speaker_name, speaker_kind, text, created_at)
                        VALUES (1, 'm1', 'u1', 'Alice', 'human', 'first', 1000),
                               (2, 'r1', 'u2', 'Bob', 'human', 'elsewhere', 1500),
                               (1, 'm2', 'u1', 'Alice', 'human', 'second', 2000),
                               (1, 'm3', 'u2', 'Bob', 'human', '', 3000);
                    UPDATE message SET deleted_at = 3500 WHERE platform_message_id = 'm3';
                    UPDATE message SET is_edited = 1, edited_at = 2500, text = 'second, edited' WHERE platform_message_id = 'm2';
                    """)
                #expect(try String.fetchOne(db, sql: "SELECT sql FROM sqlite_master WHERE name = 'message'")?.contains("AUTOINCREMENT") == true)
            }
            try queue.close()
        }

        let store = try await SQLiteStore.open(.file(path: path))
        #expect(try await store.appliedMigrations().last == "v5-message-rowid")
        let schema = try await store.schemaSnapshot()
        let table = try #require(schema.first { $0.hasPrefix("table message:") })
        #expect(!table.contains("AUTOINCREMENT"))
        #expect(table.contains("UNIQUE (channel_id, platform_message_id)"))
        #expect(!schema.contains { $0.contains("message_v5") })
        #expect(schema.contains { $0.hasPrefix("index message_live_history:") && $0.contains("WHERE deleted_at IS NULL") })

        // Rows keep their ids (cursors into history), texts, edits and tombstones.
        let history = try await store.recentMessages(in: general, limit: 10, after: nil)
        #expect(history.map(\.messageID) == ["m1", "m2"], "the tombstone stays out of live history")
        #expect(history.map(\.rowID) == [1, 3])
        #expect(history.last?.text == "second, edited" && history.last?.isEdited == true)
        #expect(try await store.message(in: general, messageID: "m3") == nil)
        #expect(try await store.messageCount(in: random) == 1)

        // A new message gets an id after every old one (the tombstone's included), and a repeat is still ignored.
        let inserted = try await store.insert(contentsOf: [humanMessage("m4", at: 4_000), humanMessage("m1", at: 1_000)])
        #expect(inserted.map(\.inserted) == [true, false])
        #expect(inserted.first?.rowID == 5)
        #expect(inserted.last?.rowID == 1)
        try await store.integrityCheck()
        try await store.close()
    }
}

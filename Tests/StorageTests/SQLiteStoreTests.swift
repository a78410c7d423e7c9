import Foundation
import Testing

@testable import Storage

/// Behaviour specific to the SQLite backend: files, pragmas, damage and crashes.
@Suite("SQLiteStore")
struct SQLiteStoreTests {
    @Test("opening a path in missing directories creates them, in WAL mode with synchronous=NORMAL (claims sync their own commits)")
    func createsDirectoriesAndUsesWAL() async throws {
        let directory = try TemporaryDirectory()
        defer { try? directory.remove() }
        let path = directory.file("a/b/c/bridge.sqlite")
        let store = try await SQLiteStore.open(.file(path: path))
        #expect(FileManager.default.fileExists(atPath: path))
        #expect(try await store.writerPragma("journal_mode") == "wal")
        #expect(try await store.writerPragma("synchronous") == "1", "1 is NORMAL")
        #expect(try await store.writerPragma("foreign_keys") == "1")
        // SQLite's default: a larger interval wrote chatter no faster, and a claim's synced commit that met its
        // longer checkpoint waited three times as long (pb-bench store, p99 17-19 ms instead of 7).
        #expect(try await store.writerPragma("wal_autocheckpoint") == "1000")
        try await store.insert(humanMessage("m1", at: 1_000))
        try await store.close()
        // close() checkpoints, so the main file alone holds everything (a plain copy is a backup).
        let walSize = (try? FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as? Int) ?? 0
        #expect(walSize == 0)
        #expect(store.location == .file(path: path))
    }

    @Test("reopening an existing database changes no schema")
    func reopenIsNoOp() async throws {
        let directory = try TemporaryDirectory()
        defer { try? directory.remove() }
        let path = directory.file("bridge.sqlite")
        let first = try await SQLiteStore.open(.file(path: path))
        let schema = try await first.schemaSnapshot()
        #expect(schema.contains { $0.hasPrefix("index message_live_history:") })
        try await first.insert(humanMessage("m1", at: 1_000))
        try await first.close()

        let second = try await SQLiteStore.open(.file(path: path))
        #expect(try await second.schemaSnapshot() == schema)
        #expect(try await second.appliedMigrations() == ["v1-initial-schema", "v2-usage", "v3-imported-personas", "v3-prompt-records", "v3-reply-alternatives", "v4-scene-memory", "v4-player-personas", "v4-scene-activation", "v5-message-rowid"])
        #expect(try await second.messageCount(in: general) == 1)
        try await second.close()
    }

    @Test("several stores opening one fresh file at once all succeed (first start of two processes)")
    func concurrentFirstOpen() async throws {
        for _ in 0..<5 {
            let directory = try TemporaryDirectory()
            defer { try? directory.remove() }
            let path = directory.file("bridge.sqlite")
            let stores = try await withThrowingTaskGroup(of: SQLiteStore.self) { group in
                for _ in 0..<4 {
                    group.addTask { try await SQLiteStore.open(.file(path: path)) }
                }
                var stores: [SQLiteStore] = []
                for try await store in group { stores.append(store) }
                return stores
            }
            for store in stores {
                #expect(try await store.appliedMigrations() == ["v1-initial-schema", "v2-usage", "v3-imported-personas", "v3-prompt-records", "v3-reply-alternatives", "v4-scene-memory", "v4-player-personas", "v4-scene-activation", "v5-message-rowid"])
                try await store.close()
            }
        }
    }

    @Test("a garbage file gives StorageError.corrupt naming the path, and is left as it was")
    func garbageFile() async throws {
        let directory = try TemporaryDirectory()
        defer { try? directory.remove() }
        let path = directory.file("bridge.sqlite")
        let garbage = Data((0..<8_192).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) })
        try garbage.write(to: URL(fileURLWithPath: path))

        let error = await #expect(throws: StorageError.self) {
            try await SQLiteStore.open(.file(path: path))
        }
        #expect(error?.code == .corrupt)
        #expect(error?.location == path)
        #expect(error?.description.contains(path) == true)
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == garbage, "bad input loses nothing")
    }

    @Test("a database whose schema pages are damaged gives StorageError.corrupt")
    func damagedSchemaPage() async throws {
        let directory = try TemporaryDirectory()
        defer { try? directory.remove() }
        let path = directory.file("bridge.sqlite")
        let store = try await SQLiteStore.open(.file(path: path))
        try await store.insert(humanMessage("m1", at: 1_000))
        try await store.close()

        // Damage only the main file: a leftover WAL could hold an intact copy of the page.
        try? FileManager.default.removeItem(atPath: path + "-wal")
        try? FileManager.default.removeItem(atPath: path + "-shm")
        // Keep the 100-byte header, overwrite the rest of page 1 (the schema table).
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        for index in 100..<min(4_096, bytes.count) { bytes[index] = 0xA5 }
        try bytes.write(to: URL(fileURLWithPath: path))

        let error = await #expect(throws: StorageError.self) {
            try await SQLiteStore.open(.file(path: path))
        }
        #expect(error?.code == .corrupt)
        #expect(error?.location == path)
    }

    @Test("a directory where the file should be gives StorageError.cannotOpen")
    func pathIsDirectory() async throws {
        let directory = try TemporaryDirectory()
        defer { try? directory.remove() }
        let path = directory.file("bridge.sqlite")
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        let error = await #expect(throws: StorageError.self) {
            try await SQLiteStore.open(.file(path: path))
        }
        #expect(error?.code == .cannotOpen)
        #expect(error?.location == path)
    }

    @Test("a file where the directory should be gives StorageError.cannotOpen")
    func parentIsFile() async throws {
        let directory = try TemporaryDirectory()
        defer { try? directory.remove() }
        try Data("not a directory".utf8).write(to: URL(fileURLWithPath: directory.file("state")))
        let path = directory.file("state/bridge.sqlite")
        let error = await #expect(throws: StorageError.self) {
            try await SQLiteStore.open(.file(path: path))
        }
        #expect(error?.code == .cannotOpen)
        #expect(error?.location == path)
    }

    @Test("a database from a newer version is refused, not migrated")
    func newerSchemaRefused() async throws {
        let directory = try TemporaryDirectory()
        defer { try? directory.remove() }
        let path = directory.file("bridge.sqlite")
        let store = try await SQLiteStore.open(.file(path: path))
        try await store.executeRaw("INSERT INTO grdb_migrations (identifier) VALUES ('v99-from-the-future')")
        try await store.close()

        let error = await #expect(throws: StorageError.self) {
            try await SQLiteStore.open(.file(path: path))
        }
        #expect(error?.code == .migrationFailed)
        #expect(error?.location == path)
    }

    @Test("files copied without closing the store (as after kill -9) keep every committed write")
    func crashCopyKeepsCommits() async throws {
        let directory = try TemporaryDirectory()
        defer { try? directory.remove() }
        let path = directory.file("live/bridge.sqlite")
        let store = try await SQLiteStore.open(.file(path: path))
        for index in 0..<300 {
            try await store.insert(humanMessage("m\(index)", at: Int64(index)))
            if index % 10 == 0 {
                #expect(try await store.claimAnswer(channel: general, messageID: "m\(index)"))
            }
        }
        // The WAL still holds the commits: copy the files as a killed process would leave them.
        #expect(FileManager.default.fileExists(atPath: path + "-wal"))
        let crashedPath = directory.file("crashed/bridge.sqlite")
        try FileManager.default.createDirectory(atPath: directory.file("crashed"), withIntermediateDirectories: false)
        try FileManager.default.copyItem(atPath: path, toPath: crashedPath)
        try FileManager.default.copyItem(atPath: path + "-wal", toPath: crashedPath + "-wal")
        try await store.close()

        let recovered = try await SQLiteStore.open(.file(path: crashedPath))
        try await recovered.integrityCheck()
        #expect(try await recovered.messageCount(in: general) == 300)
        #expect(!(try await recovered.claimAnswer(channel: general, messageID: "m290")))
        #expect(try await recovered.claimAnswer(channel: general, messageID: "m291"))
        try await recovered.close()
    }

    @Test("a channel row created by a batch that rolled back is not remembered: the next batch creates it again")
    func rolledBackChannelRowsAreNotRemembered() async throws {
        let store = try await SQLiteStore.open(.inMemory)
        // A trigger that fails one message fails its whole batch, after the batch created the channel's row.
        try await store.executeRaw("""
            CREATE TRIGGER refuse_boom BEFORE INSERT ON message WHEN NEW.text = 'boom'
            BEGIN SELECT RAISE(ABORT, 'refused'); END
            """)
        let fresh = ChannelKey(platform: "discord", serverID: "g9", channelID: "new-channel")
        await #expect(throws: StorageError.self) {
            try await store.insert(contentsOf: [humanMessage("m1", in: fresh, at: 1_000),
                                                humanMessage("m2", in: fresh, text: "boom", at: 2_000)])
        }
        #expect(store.channelRows.rowID(of: fresh) == nil)
        // Had the rolled-back id been kept, these rows would point at a channel row that does not exist.
        try await store.insert(contentsOf: [humanMessage("m1", in: fresh, at: 1_000), humanMessage("m3", in: fresh, at: 3_000)])
        #expect(try await store.recentMessages(in: fresh, limit: 10).map(\.messageID) == ["m1", "m3"])
        #expect(store.channelRows.rowID(of: fresh) != nil)
        // Later batches take the remembered id.
        try await store.insert(contentsOf: [humanMessage("m4", in: fresh, at: 4_000)])
        #expect(try await store.messageCount(in: fresh) == 3)
        try await store.close()
    }

    @Test("a batch stores every value as given: empty, absent and non-ASCII text, long rows between short ones")
    func batchKeepsEveryTextValue() async throws {
        let store = try await SQLiteStore.open(.inMemory)
        let long = String(repeating: "a long turn of the tale, ", count: 400) + "ünïcödé 🐉"
        var messages = [
            StoredMessage(channel: general, messageID: "m1", speakerID: "", speakerName: "", kind: .human, text: "",
                          timestamp: at(1_000)),
            StoredMessage(channel: general, messageID: "m2", speakerID: "u2", speakerName: "Zoë 🐉", kind: .persona,
                          personaName: "aria", text: long, timestamp: at(2_000), replyToID: "m1"),
            StoredMessage(channel: general, messageID: "m3", speakerID: "u3", speakerName: "Bob", kind: .human,
                          text: "short after long", timestamp: at(3_000)),
            StoredMessage(channel: general, messageID: "m4", speakerID: "u4", speakerName: "Cy", kind: .human,
                          text: long + long, timestamp: at(4_000), replyToID: ""),
        ]
        messages[3].isEdited = true
        let results = try await store.insert(contentsOf: messages)
        #expect(results.map(\.inserted) == [true, true, true, true])
        let stored = try await store.recentMessages(in: general, limit: 10)
        #expect(stored.map(\.messageID) == ["m1", "m2", "m3", "m4"])
        for (got, sent) in zip(stored, messages) {
            #expect(got.speakerID == sent.speakerID)
            #expect(got.speakerName == sent.speakerName)
            #expect(got.kind == sent.kind)
            #expect(got.personaName == sent.personaName)
            #expect(got.text == sent.text)
            #expect(got.replyToID == sent.replyToID)
            #expect(got.isEdited == sent.isEdited)
        }
        // A second batch reuses the cached statement; a duplicate is still ignored.
        let again = try await store.insert(contentsOf: [humanMessage("m3", at: 5_000), humanMessage("m5", text: "", at: 6_000)])
        #expect(again.map(\.inserted) == [false, true])
        #expect(try await store.recentMessages(in: general, limit: 10).last?.text == "")
        try await store.close()
    }

    @Test("an in-memory store is private to its instance")
    func inMemoryIsPrivate() async throws {
        let first = try SQLiteStore.inMemory()
        let second = try SQLiteStore.inMemory()
        try await first.insert(humanMessage("m1", at: 1_000))
        #expect(try await second.messageCount(in: general) == 0)
        #expect(first.location.description == ":memory:")
        try await first.close()
        try await second.close()
    }
}

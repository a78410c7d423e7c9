import Foundation
import Logging
import PBTestSupport
import Storage
import StoragePostgres
import Testing

/// Behaviour specific to the PostgreSQL backend (the shared suite in StorageTests covers the rest).
@Suite("PostgresStore")
struct PostgresStoreTests {
    /// A fresh database on the shared test server, dropped after `body`.
    func withDatabase(_ body: (PostgresTestServer, String) async throws -> Void) async throws {
        let server = try await PostgresTestServer.shared()
        try await server.withDatabase { database in try await body(server, database) }
    }

    func configuration(_ server: PostgresTestServer, _ database: String) throws -> PostgresStoreConfiguration {
        try PostgresStoreConfiguration(url: server.url(database: database), password: server.password)
    }

    @Test("migration names are the same as SQLite's")
    func sameMigrationNames() async throws {
        try await withDatabase { server, database in
            let postgres = try await PostgresStore.openServed(try configuration(server, database))
            let sqlite = try SQLiteStore.inMemory()
            let postgresNames = try await postgres.appliedMigrations()
            let sqliteNames = try await sqlite.appliedMigrations()
            try await postgres.close()
            try await sqlite.close()
            #expect(postgresNames == sqliteNames)
            #expect(postgresNames.first == "v1-initial-schema")
        }
    }

    @Test("six stores opening one fresh database at once all succeed and migrate it once")
    func concurrentFirstOpen() async throws {
        try await withDatabase { server, database in
            let configuration = try configuration(server, database)
            let stores = try await withThrowingTaskGroup(of: PostgresStore.self) { group in
                for _ in 0..<6 { group.addTask { try await PostgresStore.openServed(configuration) } }
                var stores: [PostgresStore] = []
                for try await store in group { stores.append(store) }
                return stores
            }
            for store in stores {
                #expect(try await store.appliedMigrations() == ["v1-initial-schema", "v2-usage", "v3-imported-personas", "v3-prompt-records", "v3-reply-alternatives", "v4-scene-memory", "v4-player-personas", "v4-scene-activation", "v5-message-rowid"])
                try await store.close()
            }
        }
    }

    @Test("a database migrated by a newer version is refused, not used")
    func refusesNewerSchema() async throws {
        try await withDatabase { server, database in
            let store = try await PostgresStore.openServed(try configuration(server, database))
            try await store.close()
            try await server.execute("INSERT INTO pb_schema_migrations (position, name) VALUES (99, 'v99-from-the-future')",
                                     database: database)
            let error = await #expect(throws: StorageError.self) {
                try await PostgresStore.openServed(try configuration(server, database))
            }
            #expect(error?.code == .migrationFailed)
            #expect(error?.message.contains("newer version") ?? false)
        }
    }

    @Test("a wrong password gives cannotOpen and the password reaches neither the error nor the logs")
    func wrongPassword() async throws {
        try await withDatabase { server, database in
            let capture = LogCapture()
            let wrong = "wrong-\(UUID().uuidString)"
            let configuration = try PostgresStoreConfiguration(url: server.url(database: database), password: wrong)
            let error = await #expect(throws: StorageError.self) {
                try await PostgresStore.openServed(configuration, logger: capture.logger(label: "test"))
            }
            #expect(error?.code == .cannotOpen)
            #expect(error?.underlying?.contains("28P01") ?? false, "the SQLSTATE says why: \(String(describing: error))")
            #expect(!(error?.description.contains(wrong) ?? true))
            #expect(!(error?.description.contains(server.password) ?? true))

            // A working store logging at trace level never logs the password either.
            let store = try await PostgresStore.openServed(
                try self.configuration(server, database), logger: capture.logger(label: "test"))
            try await store.setState("v", for: "k")
            try await store.close()
            #expect(!capture.lines.joined().contains(server.password))
            #expect(!capture.lines.joined().contains(wrong))
        }
    }

    @Test("nothing listening gives cannotOpen promptly")
    func nothingListening() async throws {
        let refusing = try RefusingPort()
        defer { withExtendedLifetime(refusing) {} }
        let port = refusing.port
        let configuration = try PostgresStoreConfiguration(url: "postgres://u@127.0.0.1:\(port)/db?sslmode=disable",
                                                           password: "p")
        let error = await #expect(throws: StorageError.self) { try await PostgresStore.openServed(configuration) }
        #expect(error?.code == .cannotOpen)
        #expect(error?.location?.contains("127.0.0.1:\(port)") ?? false)
    }

    @Test("integrity check finds a tombstone that still has text")
    func integrityCheckFindsDamage() async throws {
        try await withDatabase { server, database in
            let store = try await PostgresStore.openServed(try configuration(server, database))
            let channel = ChannelKey(platform: "irc", serverID: "net", channelID: "#a")
            try await store.insert(StoredMessage(channel: channel, messageID: "1", speakerID: "u", speakerName: "U",
                                                 kind: .human, text: "hi", timestamp: Date()))
            try await store.integrityCheck()
            try await server.execute("UPDATE message SET deleted_at = 1", database: database)
            let error = await #expect(throws: StorageError.self) { try await store.integrityCheck() }
            #expect(error?.code == .integrityCheckFailed)
            try await store.close()
        }
    }

    @Test("pooled sessions ask the server for TCP keepalive")
    func sessionsUseKeepalive() async throws {
        try await withDatabase { server, database in
            let store = try await PostgresStore.openServed(try configuration(server, database))
            #expect(try await store.sessionKeepaliveIdleSeconds() == "30")
            try await store.close()
        }
    }

    // Once, a call after the terminations never returned (postgres-nio's pool kept waiting on a dead connection)
    // and hung the suite. The bridge wraps its store in `DeadlineStore`, as here: such a call now fails after the
    // deadline, and the next calls get new connections.
    @Test("after the server drops every connection (a failover or restart), the store reconnects by itself")
    func reconnectsAfterDroppedConnections() async throws {
        try await withDatabase { server, database in
            let store = DeadlineStore(try await PostgresStore.openServed(try configuration(server, database)), deadline: .seconds(5))
            let channel = ChannelKey(platform: "discord", serverID: "g", channelID: "c")
            #expect(try await store.claimAnswer(channel: channel, messageID: "before"))
            let dropped = try await server.execute("""
                SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
                WHERE datname = '\(database)' AND pid <> pg_backend_pid()
                """)
            #expect(Int(dropped) ?? 0 >= 1, "the store's pooled connection was dropped")
            // A call that was using a dropped connection may fail once; the next ones get new connections.
            var claimed: Bool?
            var failures: [String] = []
            for _ in 0..<6 where claimed == nil {
                do {
                    claimed = try await store.claimAnswer(channel: channel, messageID: "after")
                } catch {
                    failures.append("\(error)")
                }
            }
            #expect(claimed == true, "every attempt failed: \(failures)")
            #expect(!(try await store.claimAnswer(channel: channel, messageID: "before")), "claims survive the reconnect")
            try await store.close()
        }
    }
}

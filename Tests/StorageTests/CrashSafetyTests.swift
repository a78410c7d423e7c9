import Foundation
import PBTestSupport
import Storage
import StoragePostgres
import Testing

/// `kill -9` of a process in the middle of heavy history writes, then a restart.
@Suite("Crash safety")
struct CrashSafetyTests {
    @Test("kill -9 during heavy writes: the store reopens intact, keeps every committed message, answers nothing twice",
          arguments: 1...3)
    func killDuringWrites(_ round: Int) async throws {
        let directory = try TemporaryDirectory()
        defer { try? directory.remove() }
        let path = directory.file("state/bridge.sqlite")
        let writer = try await KilledWriter.run(store: path, channel: "crash", minimumCommits: 500 * round)
        let store = try await SQLiteStore.open(.file(path: path))
        do {
            // PRAGMA integrity_check and foreign_key_check.
            try await store.integrityCheck()
            try await expectSurvived(writer, in: store)
        } catch {
            try? await store.close()
            throw error
        }
        try await store.close()
    }

    @Test("PostgreSQL: kill -9 of a writing process loses no committed message and no claim")
    func killPostgresWriter() async throws {
        let server = try await PostgresTestServer.shared()
        try await server.withDatabase { database in
            var environment = ProcessInfo.processInfo.environment
            environment["PB_POSTGRES_PASSWORD"] = server.password
            let writer = try await KilledWriter.run(store: server.url(database: database), channel: "crash",
                                                    minimumCommits: 500, environment: environment)
            let store = try await PostgresStore.open(
                try PostgresStoreConfiguration(url: server.url(database: database), password: server.password))
            do {
                try await store.integrityCheck()
                try await expectSurvived(writer, in: store)
            } catch {
                try? await store.close()
                throw error
            }
            try await store.close()
        }
    }
}

/// Checks a store reopened after `KilledWriter`: every committed message is there, every claim
/// holds, and the store takes new writes.
func expectSurvived(_ writer: KilledWriter, in store: any Store) async throws {
    let channel = ChannelKey(platform: "test", serverID: "shard-test", channelID: "crash")
    #expect(writer.committed.count >= 500)
    #expect(!writer.claimed.isEmpty)
    let stored = Set(try await store.recentMessages(in: channel, limit: 1_000_000).map(\.messageID))
    let lost = writer.committed.filter { !stored.contains($0) }
    #expect(lost.isEmpty, "\(lost.count) messages reported committed are missing after the crash: \(lost.prefix(10))")
    for id in writer.claimed {
        #expect(!(try await store.claimAnswer(channel: channel, messageID: id)), "\(id) would be answered twice")
    }
    let next = StoredMessage(channel: channel, messageID: "after-restart", speakerID: "u", speakerName: "U",
                             kind: .human, text: "still here", timestamp: Date())
    #expect(try await store.insert(next).inserted)
}

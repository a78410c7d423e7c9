import Foundation
import PBTestSupport
import Storage
import Testing

/// `kill -9` of a process in the middle of heavy history writes, then a restart.
@Suite("Crash safety")
struct CrashSafetyTests {
    @Test("kill -9 during heavy writes: the store reopens intact, keeps every committed message, answers nothing twice",
          arguments: StoreBackend.persistent, 1...2)
    func killDuringWrites(_ backend: StoreBackend, _ round: Int) async throws {
        try await withFixture(backend) { fixture in
            let access = try #require(fixture.processAccess, "\(backend) must be reachable from another process")
            var environment = ProcessInfo.processInfo.environment
            environment.merge(access.environment) { $1 }
            // Four writers in one process; killed after the first has committed 500 or 1,000 messages.
            let writer = try await KilledWriter.run(store: access.store, channel: "crash", minimumCommits: 500 * round,
                                                    environment: environment)
            try await withOpenStore(fixture) { store in
                // SQLite: PRAGMA integrity_check and foreign_key_check; PostgreSQL: the bridge's invariants.
                try await store.integrityCheck()
                try await expectSurvived(writer, in: store)
            }
        }
    }
}

extension CrashSafetyTests {
    @Test("kill -9 during a group-committed flood: no answered claim is lost, nothing is answered twice, acked history is there in order",
          arguments: StoreBackend.persistent)
    func killDuringFlood(_ backend: StoreBackend) async throws {
        try await withFixture(backend) { fixture in
            let access = try #require(fixture.processAccess, "\(backend) must be reachable from another process")
            var environment = ProcessInfo.processInfo.environment
            environment.merge(access.environment) { $1 }
            let writer = try await KilledWriter.run(store: access.store, channel: "flood", minimumCommits: 20_000,
                                                    mode: "flood", environment: environment)
            try await withOpenStore(fixture) { store in
                try await store.integrityCheck()
                let channel = ChannelKey(platform: "test", serverID: "shard-test", channelID: "flood")
                #expect(writer.claimed.count >= 20_000 / 97)
                let stored = try await store.recentMessages(in: channel, limit: 10_000_000).map(\.messageID)
                // Acks run only after their batch committed, in recording order: the acked ids are a prefix of history.
                #expect(stored.count >= writer.committed.count)
                #expect(Array(stored.prefix(writer.committed.count)) == writer.committed,
                        "history after the crash does not start with the acknowledged messages in order")
                let storedSet = Set(stored)
                // A restarted bridge meets the same messages again (catch-up): each claimed one is refused.
                for id in writer.claimed {
                    #expect(storedSet.contains(id), "the answered message \(id) is missing from history")
                    #expect(!(try await store.claimAnswer(channel: channel, messageID: id)), "\(id) would be answered twice")
                }
            }
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

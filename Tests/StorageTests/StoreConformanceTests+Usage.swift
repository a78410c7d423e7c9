import Foundation
import Storage
import Testing

extension StoreConformanceTests {
    @Test("usage sums by user, channel and server over a window; re-recording replaces", arguments: StoreBackend.all)
    func usageTotals(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store in
            let otherGuild = ChannelKey(platform: "discord", serverID: "guild-2", channelID: "lobby")
            try await store.recordUsage(UsageRecord(requestID: "r1", channel: general, userID: "u1", createdAt: at(1_000)))
            try await store.recordUsage(UsageRecord(
                requestID: "r1", channel: general, userID: "u1", promptTokens: 100, completionTokens: 20,
                cachedTokens: 60, createdAt: at(1_000)))
            try await store.recordUsage(UsageRecord(
                requestID: "r2", channel: random, userID: "u1", promptTokens: 50, completionTokens: 5, createdAt: at(2_000)))
            try await store.recordUsage(UsageRecord(
                requestID: "r3", channel: otherGuild, userID: "u2", promptTokens: 7, completionTokens: 3, createdAt: at(3_000)))

            let user = try await store.usageTotals(.user(platform: "discord", userID: "u1"), since: at(0))
            #expect(user == UsageTotals(requests: 2, promptTokens: 150, completionTokens: 25, cachedTokens: 60))
            #expect(user.totalTokens == 175)
            #expect(try await store.usageTotals(.channel(general), since: at(0)).totalTokens == 120)
            #expect(try await store.usageTotals(.server(platform: "discord", serverID: "guild-1"), since: at(0)).requests == 2)
            #expect(try await store.usageTotals(.server(platform: "discord", serverID: "guild-2"), since: at(0)).totalTokens == 10)

            // The window starts at `since`, inclusive.
            #expect(try await store.usageTotals(.user(platform: "discord", userID: "u1"), since: at(2_000)).totalTokens == 55)
            #expect(try await store.usageTotals(.user(platform: "discord", userID: "u1"), since: at(2_001)) == UsageTotals())
            // Same user id on another platform is someone else; unknown channels sum to zero.
            #expect(try await store.usageTotals(.user(platform: "irc", userID: "u1"), since: at(0)) == UsageTotals())
            let unknown = ChannelKey(platform: "irc", serverID: "libera", channelID: "#none")
            #expect(try await store.usageTotals(.channel(unknown), since: at(0)) == UsageTotals())

            let error = await #expect(throws: StorageError.self) {
                try await store.recordUsage(UsageRecord(requestID: "", channel: general, userID: "u1", createdAt: at(1)))
            }
            #expect(error?.code == .invalidArgument)
        }
    }

    @Test("pruning removes only usage older than the cutoff", arguments: StoreBackend.all)
    func usagePruning(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store in
            for (id, time) in [("old1", 1_000), ("old2", 1_999), ("new", 2_000)] {
                try await store.recordUsage(UsageRecord(
                    requestID: id, channel: general, userID: "u1", promptTokens: 1, createdAt: at(Int64(time))))
            }
            #expect(try await store.pruneUsage(before: at(2_000)) == 2)
            #expect(try await store.usageTotals(.channel(general), since: at(0)) == UsageTotals(requests: 1, promptTokens: 1))
            #expect(try await store.pruneUsage(before: at(2_000)) == 0)
        }
    }

    @Test("usage survives a restart", arguments: StoreBackend.persistent)
    func usageSurvivesRestart(_ backend: StoreBackend) async throws {
        try await withFixture(backend) { fixture in
            try await withOpenStore(fixture) { store async throws in
                try await store.recordUsage(UsageRecord(
                    requestID: "r1", channel: general, userID: "u1", promptTokens: 10, completionTokens: 2, createdAt: at(5)))
            }
            try await withOpenStore(fixture) { store async throws in
                #expect(try await store.usageTotals(.channel(general), since: at(0)).totalTokens == 12)
            }
        }
    }
}

import Foundation
import PBTestSupport
import Storage
import StoragePostgres
import Testing

/// Several processes on one PostgreSQL database, as several bridge processes (shards) run.
@Suite("PostgreSQL across processes")
struct PostgresCrossProcessTests {
    let channel = ChannelKey(platform: "test", serverID: "shard-test", channelID: "shared")

    func worker(_ server: PostgresTestServer, _ arguments: [String]) throws -> TestServer {
        var environment = ProcessInfo.processInfo.environment
        environment["PB_POSTGRES_PASSWORD"] = server.password
        return try TestServer(executable: RepoPaths.builtExecutable("pb-store-worker"), arguments: arguments,
                              environment: environment)
    }

    @Test("two processes racing for 1,000 messages: every message is claimed exactly once")
    func claimsAcrossProcesses() async throws {
        let server = try await PostgresTestServer.shared()
        try await server.withDatabase { database in try await claimRace(server, url: server.url(database: database)) }
    }

    func claimRace(_ server: PostgresTestServer, url: String) async throws {
        let go = FileManager.default.temporaryDirectory.appendingPathComponent("pb-go-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: go) }

        let count = 1_000
        let first = try worker(server, ["claim", url, "shared", String(count), go])
        let second = try worker(server, ["claim", url, "shared", String(count), go])
        defer {
            first.stop()
            second.stop()
        }
        try await first.waitForOutput("READY", timeout: .seconds(120))
        try await second.waitForOutput("READY", timeout: .seconds(120))
        #expect(FileManager.default.createFile(atPath: go, contents: nil))
        let firstRun = try await first.waitForCompleteOutput(timeout: .seconds(300))
        let secondRun = try await second.waitForCompleteOutput(timeout: .seconds(300))
        #expect(firstRun.status == 0, "\(firstRun.output)")
        #expect(secondRun.status == 0, "\(secondRun.output)")

        func wins(_ output: String) -> [String] {
            output.split(separator: "\n").filter { $0.hasPrefix("won ") }.map { String($0.dropFirst(4)) }
        }
        let firstWins = wins(firstRun.output)
        let secondWins = wins(secondRun.output)
        #expect(Set(firstWins).isDisjoint(with: secondWins), "a message was claimed by both processes")
        #expect(firstWins.count + secondWins.count == count)
        #expect(Set(firstWins + secondWins) == Set((0..<count).map { "m\($0)" }))
        // Both really raced (each won some); a wrong lock-free claim would show up as overlap above.
        #expect(!firstWins.isEmpty && !secondWins.isEmpty,
                "first won \(firstWins.count), second \(secondWins.count): the processes did not overlap")
    }

    @Test("a binding change made by one process is seen by another, and concurrent changes lose nothing")
    func bindingsAcrossProcesses() async throws {
        let server = try await PostgresTestServer.shared()
        try await server.withDatabase { database in try await bindingChanges(server, url: server.url(database: database)) }
    }

    func bindingChanges(_ server: PostgresTestServer, url: String) async throws {
        let adder = try worker(server, ["add-persona", url, "shared", "vex"])
        let added = try await adder.waitForCompleteOutput(timeout: .seconds(120))
        #expect(added.status == 0, "\(added.output)")

        let store = try await PostgresStore.openServed(try PostgresStoreConfiguration(url: url, password: server.password))
        do {
            #expect(try await store.channelSettings(for: channel)?.personas == ["vex"], "this process sees the other's change")
            try await store.updateChannelSettings(for: channel) { $0.personas?.append("mira") }

            let reader = try worker(server, ["personas", url, "shared"])
            let read = try await reader.waitForCompleteOutput(timeout: .seconds(120))
            #expect(read.status == 0, "\(read.output)")
            #expect(read.output.contains("personas vex,mira"), "the other process sees this change: \(read.output)")

            // Four processes adding at once, each in its own read-modify-write transaction.
            let adders = try ["a", "b", "c", "d"].map { try worker(server, ["add-persona", url, "shared", $0]) }
            for process in adders {
                let run = try await process.waitForCompleteOutput(timeout: .seconds(120))
                #expect(run.status == 0, "\(run.output)")
            }
            let personas = try await store.channelSettings(for: channel)?.personas ?? []
            #expect(Set(personas) == ["vex", "mira", "a", "b", "c", "d"])
            #expect(personas.count == 6)
        } catch {
            try? await store.close()
            throw error
        }
        try await store.close()
    }
}

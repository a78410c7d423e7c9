import Foundation
import PBTestSupport
import Storage
import Testing

/// `kill -9` of a process in the middle of heavy history writes, then a restart.
@Suite("SQLite crash safety")
struct SQLiteCrashSafetyTests {
    @Test("kill -9 during heavy writes: the store reopens intact, keeps every committed message, answers nothing twice",
          arguments: 1...3)
    func killDuringWrites(_ round: Int) async throws {
        let directory = try TemporaryDirectory()
        defer { try? directory.remove() }
        let path = directory.file("state/bridge.sqlite")
        let worker = try TestServer(executable: try builtExecutable("pb-store-worker"),
                                    arguments: ["write", path, "crash"])
        defer { worker.stop() }
        // Let it commit a few thousand messages (more each round), then kill it mid-write.
        let target = 1_000 * round
        try await worker.waitForOutput("committed w\(target - 1)\n", timeout: .seconds(300))
        try await Task.sleep(for: .milliseconds(Int.random(in: 0...200)))
        kill(worker.pid, SIGKILL)
        let (status, output) = try await worker.waitForCompleteOutput(timeout: .seconds(60))
        #expect(status == 128 + SIGKILL, "the writer died of the kill, not of an error: \(output.suffix(500))")

        // Only whole lines: the last one may be cut by the kill.
        let lines = output.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        let committed = lines.filter { $0.hasPrefix("committed ") }.map { String($0.dropFirst("committed ".count)) }
        let claimed = lines.filter { $0.hasPrefix("claimed ") }.map { String($0.dropFirst("claimed ".count)) }
        #expect(committed.count >= target)
        #expect(!claimed.isEmpty)

        let channel = ChannelKey(platform: "test", serverID: "shard-test", channelID: "crash")
        let store = try await SQLiteStore.open(.file(path: path))
        do {
            try await store.integrityCheck()
            let stored = Set(try await store.recentMessages(in: channel, limit: 1_000_000).map(\.messageID))
            let lost = committed.filter { !stored.contains($0) }
            #expect(lost.isEmpty, "messages reported committed but missing after the crash: \(lost.prefix(10))")
            for id in claimed {
                #expect(!(try await store.claimAnswer(channel: channel, messageID: id)), "\(id) would be answered twice")
            }
            // The restarted store keeps working on the same history.
            let next = StoredMessage(channel: channel, messageID: "after-restart", speakerID: "u", speakerName: "U",
                                     kind: .human, text: "still here", timestamp: Date())
            #expect(try await store.insert(next).inserted)
        } catch {
            try? await store.close()
            throw error
        }
        try await store.close()
    }
}

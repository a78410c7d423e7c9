import Foundation
import Logging
import Storage
import Synchronization

/// The SQLite store alone, on disk: chatter batches of 512 written one after the other (as the history recorder
/// writes a flood), and a claim (the synced commit a reply waits for) every 5 ms meanwhile. It shows what the store
/// can take without the adapter and the router, and how long a claim waits behind the chatter.
enum StoreBenchmark {
    static let channel = ChannelKey(platform: "discord", serverID: "900000000000000100", channelID: "900000000000000301")
    static let batches = 200
    static let batchSize = 512

    static func run() async throws {
        var logger = Logger(label: "pb-bench.store")
        logger.logLevel = .error
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pb-bench-store-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try await SQLiteStore.open(.file(path: directory.appendingPathComponent("bridge.sqlite").path), logger: logger)
        // Built first: the figures are the store's, not the test data's.
        let text = "hello there, this is some ordinary chatter of about the usual length"
        var chatter: [[StoredMessage]] = []
        for batch in 0..<batches {
            var messages: [StoredMessage] = []
            for i in 0..<batchSize {
                let n = batch * batchSize + i
                let id = 1_300_000_000_000_000_000 + n * 4096
                messages.append(StoredMessage(channel: channel, messageID: String(id), speakerID: "900000000000000403",
                                              speakerName: "Alice", kind: .human, text: text,
                                              timestamp: Date(timeIntervalSince1970: 1_700_000_000 + Double(n) / 1000)))
            }
            chatter.append(messages)
        }
        let clock = ContinuousClock()
        let started = clock.now
        let cpuBefore = ProcessStats.cpuSeconds()
        let done = Mutex(false)
        let writer = Task {
            defer { done.withLock { $0 = true } }
            for batch in chatter { try await store.insert(contentsOf: batch) }
        }
        var claims: [Duration] = []
        while !done.withLock({ $0 }) {
            let before = clock.now
            _ = try await store.claimAnswer(channel: channel, messageID: "claim-\(claims.count)")
            claims.append(before.duration(to: clock.now))
            try await Task.sleep(for: .milliseconds(5))
        }
        try await writer.value
        let seconds = ProcessStats.seconds(started.duration(to: clock.now))
        let cpu = ProcessStats.cpuSeconds() - cpuBefore
        try await store.close()
        let rows = batches * batchSize
        let sorted = claims.sorted()
        let p50 = ProcessStats.milliseconds(sorted[sorted.count / 2])
        let p99 = ProcessStats.milliseconds(sorted[min(sorted.count - 1, sorted.count * 99 / 100)])
        say(String(format: "SQLite store on disk: %d chatter rows in batches of %d, %.0f rows/s (%.1f µs of CPU per row, commits included)",
                   rows, batchSize, Double(rows) / seconds, cpu * 1e6 / Double(rows)))
        say(String(format: "  %d claims meanwhile (synced commits, one every 5 ms): p50 %.1f ms, p99 %.1f ms, max %.1f ms",
                   sorted.count, p50, p99, ProcessStats.milliseconds(sorted.last ?? .zero)))
    }
}

// pb-store-worker: a second process for the storage tests (crash safety, cross-process claims).
//
//   pb-store-worker write  STORE CHANNEL             four tasks insert batches forever; print "committed ID"
//                                                    and "claimed ID" after each commit returns
//   pb-store-worker flood  STORE CHANNEL             record chatter through group commit forever; print
//                                                    "committed ID" from each message's ack, and for every
//                                                    97th message claim it, flush, and print "claimed ID"
//                                                    (the reply would be sent now)
//   pb-store-worker claim  STORE CHANNEL N GOFILE    wait for GOFILE, claim messages 0..<N in a random
//                                                    order, print "won ID" per win, then "done"
//   pb-store-worker add-persona STORE CHANNEL NAME   append NAME to the channel's personas, print them
//   pb-store-worker personas STORE CHANNEL           print the channel's personas ("none" if unset)
//
// STORE is a SQLite path or a postgres:// URL (password from PB_POSTGRES_PASSWORD).
import Foundation
import Logging
import Storage
import StoragePostgres

func openStore(_ spec: String) async throws -> any Store {
    if spec.hasPrefix("postgres://") || spec.hasPrefix("postgresql://") {
        let password = ProcessInfo.processInfo.environment["PB_POSTGRES_PASSWORD"]
        let store = try await PostgresStore.open(try PostgresStoreConfiguration(url: spec, password: password))
        // The worker has no service group: a task of its own serves the pool until the store is closed.
        Task { await store.run() }
        return store
    }
    return try await SQLiteStore.open(.file(path: spec))
}

/// Writes a line straight to the pipe (unbuffered): a line printed is a line the test can read after kill -9.
func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

let arguments = Array(CommandLine.arguments.dropFirst())
guard arguments.count >= 3 else {
    FileHandle.standardError.write(Data("usage: pb-store-worker write|claim|add-persona|personas STORE CHANNEL ...\n".utf8))
    exit(2)
}
let channel = ChannelKey(platform: "test", serverID: "shard-test", channelID: arguments[2])
do {
    let store = try await openStore(arguments[1])
    switch arguments[0] {
    case "write":
        say("READY")
        // Four writers at once, each with its own id range, as several busy channels would write.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<4 {
                group.addTask {
                    var next = 0
                    while true {
                        let batch = (next..<next + 20).map { index in
                            StoredMessage(
                                channel: channel, messageID: "w\(writer)-\(index)", speakerID: "u\(index % 5)",
                                speakerName: "User", kind: .human, text: String(repeating: "history line \(index) ", count: 8),
                                timestamp: Date(timeIntervalSince1970: 1_700_000_000 + Double(index) / 1000))
                        }
                        try await store.insert(contentsOf: batch)
                        say(batch.map { "committed \($0.messageID)" }.joined(separator: "\n"))
                        // One claim per batch, like a reply to the batch's last message.
                        let last = batch[batch.count - 1].messageID
                        if try await store.claimAnswer(channel: channel, messageID: last) { say("claimed \(last)") }
                        next += batch.count
                    }
                }
            }
            try await group.waitForAll()
        }
    case "flood":
        say("READY")
        let recorder = HistoryRecorder(store: store, logger: Logger(label: "pb-store-worker"))
        var index = 0
        while true {
            let id = "f\(index)"
            let message = StoredMessage(channel: channel, messageID: id, speakerID: "u\(index % 5)", speakerName: "User",
                                        kind: .human, text: "flood line \(index)",
                                        timestamp: Date(timeIntervalSince1970: 1_700_000_000 + Double(index) / 1000))
            await recorder.record(message) { say("committed \(id)") }
            // A mention, answered the way the router does: the claim is committed, the history before it is
            // flushed for the prompt, and only then would the reply go out.
            if index % 97 == 0, try await store.claimAnswer(channel: channel, messageID: id) {
                await recorder.flush()
                say("claimed \(id)")
            }
            index += 1
        }
    case "claim":
        guard arguments.count == 5, let count = Int(arguments[3]) else { exit(2) }
        say("READY")
        // The start barrier shared with the other worker processes (a file the test creates); this executable does
        // not link PBTestSupport's polling helper.
        while !FileManager.default.fileExists(atPath: arguments[4]) { try await Task.sleep(for: .milliseconds(5)) }
        var wins = 0
        for index in (0..<count).shuffled() where try await store.claimAnswer(channel: channel, messageID: "m\(index)") {
            say("won m\(index)")
            wins += 1
        }
        say("done \(wins)")
    case "add-persona":
        guard arguments.count == 4 else { exit(2) }
        let name = arguments[3]
        let settings = try await store.updateChannelSettings(for: channel) { settings in
            settings.personas = (settings.personas ?? []) + [name]
        }
        say("personas \((settings.personas ?? []).joined(separator: ","))")
    case "personas":
        let personas = try await store.channelSettings(for: channel)?.personas
        say("personas \(personas.map { $0.joined(separator: ",") } ?? "none")")
    default:
        exit(2)
    }
    try await store.close()
} catch {
    FileHandle.standardError.write(Data("pb-store-worker: \(error)\n".utf8))
    exit(1)
}

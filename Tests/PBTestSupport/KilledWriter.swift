#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// What `pb-store-worker write` reported before it was killed with SIGKILL mid-write.
public struct KilledWriter: Sendable {
    /// Ids of messages whose commit returned before the kill.
    public let committed: [String]
    /// Ids of messages the writer claimed (answered) before the kill.
    public let claimed: [String]

    /// Starts `pb-store-worker write STORE CHANNEL`, waits until its first writer has committed
    /// `minimumCommits` messages, sleeps a random moment so the kill lands mid-transaction, then
    /// kills it with SIGKILL and collects every whole line it printed.
    ///
    /// `mode` is the worker's mode: `write` (four writers, ids `wN-i`) or `flood` (group-committed chatter, ids `fi`).
    public static func run(
        store: String, channel: String, minimumCommits: Int, mode: String = "write", environment: [String: String]? = nil
    ) async throws -> KilledWriter {
        let worker = try TestServer(executable: RepoPaths.builtExecutable("pb-store-worker"),
                                    arguments: [mode, store, channel], environment: environment)
        defer { worker.stop() }
        let firstID = mode == "flood" ? "f" : "w0-"
        try await worker.waitForOutput("committed \(firstID)\(minimumCommits - 1)\n", timeout: .seconds(300))
        // A random kill point (the point of the test), not a wait for an event.
        try await Task.sleep(for: .milliseconds(Int.random(in: 0...200)))
        kill(worker.pid, SIGKILL)
        let (status, output) = try await worker.waitForCompleteOutput(timeout: .seconds(60))
        guard status == 128 + SIGKILL else {
            throw TestServerError("the writer ended with status \(status), not by the kill: \(output.suffix(1_000))")
        }
        // Only whole lines: the last one may be cut by the kill.
        let lines = output.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        func ids(_ prefix: String) -> [String] {
            lines.filter { $0.hasPrefix(prefix) }.map { String($0.dropFirst(prefix.count)) }
        }
        return KilledWriter(committed: ids("committed "), claimed: ids("claimed "))
    }
}

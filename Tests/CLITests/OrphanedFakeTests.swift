import Foundation
import PBTestSupport
import Testing

/// The loopback fakes end once the process that started them is gone (`Tests/Servers/lifeline.py`).
///
/// Tests stop their fakes with SIGKILL, but a test process that is killed itself (a CI timeout, Ctrl-C on
/// `swift test`, whose SIGINT never reaches a fake's own process group) cannot: its fakes ran on, took CPU, and
/// slowed every benchmark after them.
@Suite("Orphaned loopback fakes")
struct OrphanedFakeTests {
    @Test("a fake whose parent exits ends within seconds", arguments: [
        ["discord_server.py"], ["model_server.py"], ["ws_server.py"], ["line_server.py"], ["http_server.py"],
        ["irc_sasl_server.py", "--account", "alice", "--password", "secret"],
    ])
    func fakeEndsWithItsParent(_ command: [String]) async throws {
        let script = RepoPaths.servers.appendingPathComponent(command[0]).path
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("pb-orphan-\(UUID().uuidString).log").path
        defer { try? FileManager.default.removeItem(atPath: log) }
        // The shell starts the fake, waits for it to be up, prints its pid and exits: the fake is orphaned the way a
        // killed test process leaves it (after it has started, with its parent gone).
        let launcher = try TestServer(executable: "sh", arguments: [
            "-c", #"log=$1; shift; "$@" > "$log" 2>&1 & pid=$!; n=0; while ! grep -qs READY "$log" && [ $n -lt 600 ]; do sleep 0.05; n=$((n+1)); done; echo $pid"#,
            "launcher", log, "python3", script, "--port", "0",
        ] + command.dropFirst())
        // The fake stays in the launcher's process group: if it fails to end, this kills it.
        defer { kill(-launcher.pid, SIGKILL) }
        let (status, output) = try await launcher.waitForCompleteOutput(timeout: .seconds(60))
        let fakeOutput: @Sendable () -> String = { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }
        guard status == 0, let pid = pid_t(output.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            Issue.record("the launcher failed (status \(status)): \(output)")
            return
        }
        #expect(fakeOutput().contains("READY"), "\(command[0]) never got up: \(fakeOutput())")
        try await eventually("orphaned \(command[0]) (pid \(pid)) to end", timeout: .seconds(10),
                             detail: { "its output:\n\(fakeOutput())" }) { !Self.isRunning(pid) }
    }

    /// Whether `pid` runs (a zombie does not: an orphan's new parent may never reap it).
    static func isRunning(_ pid: pid_t) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return false }
        let state = stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).first
        return state != "Z" && state != "X"
    }
}

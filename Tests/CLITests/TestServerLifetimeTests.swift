import Foundation
import PBTestSupport
import Testing

/// Children a test starts end with the test process, however it ends (`TestServer`, `ChildSpawner`).
@Suite("Test servers end with the test process")
struct TestServerLifetimeTests {
    @Test("a child is killed when the test process dies (its parent-death signal is SIGKILL)")
    func childHasAParentDeathSignal() async throws {
        try #require(findExecutable("setpriv") != nil, "setpriv (util-linux) is needed to guard test servers")
        // PR_GET_PDEATHSIG is 2: the child reads its own parent-death signal.
        let child = try TestServer(executable: "python3", arguments: ["-c", """
            import ctypes
            signal = ctypes.c_int()
            ctypes.CDLL(None).prctl(2, ctypes.byref(signal))
            print(signal.value)
            """])
        let (status, output) = try await child.waitForCompleteOutput(timeout: .seconds(60))
        #expect(status == 0, "\(output)")
        #expect(output.trimmingCharacters(in: .whitespacesAndNewlines) == "\(SIGKILL)")
    }

    @Test("a child outlives the thread that started it")
    func childOutlivesItsStartingThread() async throws {
        // A parent-death signal fires when the thread that spawned the child ends: started from a thread that then
        // ends (as the cooperative pool's idle threads do), the child must still run.
        final class Started: @unchecked Sendable {
            // Safe to share: written on the thread before it ends, read only after it has.
            var result: Result<TestServer, any Error>?
        }
        let started = Started()
        let thread = Thread {
            started.result = Result { try TestServer(executable: "sleep", arguments: ["60"]) }
        }
        thread.start()
        try await eventually("the starting thread to end") { thread.isFinished }
        let child = try #require(try started.result?.get())
        defer { child.stop() }
        try await settle(.milliseconds(500))
        #expect(child.isRunning, "the child died with the thread that started it")
    }

    @Test("a guarded server is stopped, and its directory removed, once the process that started it is gone")
    func guardedServerEndsWithItsParent() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pb-guarded-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let script = RepoPaths.servers.appendingPathComponent("guarded.py").path
        let running = directory + "/running"
        // The shell stands in for a test process that dies: it starts the wrapper, waits until the wrapper's server
        // runs (the wrapper has noted its parent by then) and exits. The wrapper, its server and the shell share the
        // shell's process group.
        let launcher = try TestServer(executable: "sh", arguments: [
            "-c", #"python3 "$1" --cleanup "$2" -- sh -c 'touch "$0"; exec sleep 60' "$3" > /dev/null 2>&1 & "#
                + #"n=0; while [ ! -e "$3" ] && [ $n -lt 1200 ]; do sleep 0.05; n=$((n+1)); done"#,
            "launcher", script, directory, running,
        ])
        let group = launcher.pid
        defer { kill(-group, SIGKILL) }
        _ = try await launcher.waitForCompleteOutput(timeout: .seconds(60))
        try await eventually("the guarded server to be stopped", timeout: .seconds(10)) { Self.liveProcesses(inGroup: group) == 0 }
        #expect(!FileManager.default.fileExists(atPath: directory), "the wrapper left its directory behind")
    }

    /// Processes of process group `group` that have not exited (zombies are not counted).
    static func liveProcesses(inGroup group: pid_t) -> Int {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(Int32.init).filter { pid in
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { return false }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            // After the command: state, ppid, pgrp.
            return fields.count > 2 && fields[0] != "Z" && Int32(fields[2]) == group
        }.count
    }
}

import Foundation
import PBTestSupport
import Testing

/// A temporary bot directory with a persona, a config for the `jsonl` adapter and a fake model server.
final class OperationsFixture: @unchecked Sendable {
    // Safe: every property is set once in init and only read afterwards.
    let directory: URL
    let model: TestServer
    let modelPort: Int
    static let apiKey = "pb-test-secret-key-0123456789abcdef"

    init() async throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("pb-ops-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("personas"), withIntermediateDirectories: true)
        (model, modelPort) = try await startPythonServer("model_server.py")
        try """
            name = "ada"
            display_name = "Ada"
            character = "You are Ada, a terse test persona."
            """.write(to: directory.appendingPathComponent("personas/ada.toml"), atomically: true, encoding: .utf8)
    }

    deinit {
        model.stop()
        try? FileManager.default.removeItem(at: directory)
    }

    var storePath: String { directory.appendingPathComponent("state/bridge.sqlite").path }

    /// Writes `bot.toml` binding `channels` to Ada with trigger mode `always`; `extra` is appended verbatim.
    @discardableResult
    func writeConfig(channels: [String], extra: String = "") throws -> String {
        var text = """
            personas_dir = "personas"

            [model]
            provider = "openrouter"
            base_url = "http://127.0.0.1:\(modelPort)/api/v1"
            api_key_env = "PB_TEST_KEY"
            max_attempts = 1

            [storage]
            path = "state/bridge.sqlite"

            [defaults.trigger]
            mode = "always"
            cooldown_seconds = 0

            [platforms.jsonl]
            enabled = true
            server = "s1"
            moderators = ["mod"]

            """
        for channel in channels {
            text += """

                [[channels]]
                platform = "jsonl"
                channel = "\(channel)"
                personas = ["ada"]

                """
        }
        text += "\n" + extra + "\n"
        let path = directory.appendingPathComponent("bot.toml").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Starts `persona-bridge run` with `input` (JSON lines) as standard input.
    func startBridge(input: [[String: Any]], arguments: [String] = [], environment: [String: String] = [:]) throws -> TestServer {
        let inputPath = directory.appendingPathComponent("input-\(UUID().uuidString).jsonl").path
        let lines = try input.map { String(decoding: try JSONSerialization.data(withJSONObject: $0), as: UTF8.self) }
        try (lines.joined(separator: "\n") + "\n").write(toFile: inputPath, atomically: true, encoding: .utf8)
        var env = ["PATH": "/usr/bin:/bin", "HOME": NSTemporaryDirectory(), "PB_TEST_KEY": Self.apiKey]
        env.merge(environment) { $1 }
        let config = directory.appendingPathComponent("bot.toml").path
        // sh -c: $1 binary, $2 config, $3 input file, the rest are extra arguments.
        let command = "bin=$1; cfg=$2; inp=$3; shift 3; exec \"$bin\" run --config \"$cfg\" \"$@\" < \"$inp\""
        return try TestServer(executable: "/bin/sh", arguments: ["-c", command, "sh", CLI.binary, config, inputPath] + arguments,
                              environment: env)
    }

    /// Starts `persona-bridge run` reading standard input from a FIFO the test writes to with `BridgeInput.send`.
    func startBridgeWithInput(arguments: [String] = []) throws -> (TestServer, BridgeInput) {
        let fifo = directory.appendingPathComponent("input-\(UUID().uuidString).fifo").path
        guard mkfifo(fifo, 0o600) == 0 else { throw TestServerError("mkfifo failed: errno \(errno)") }
        // O_RDWR does not block on a FIFO (Linux), so the bridge can open its end whenever it starts.
        let fd = open(fifo, O_RDWR)
        guard fd >= 0 else { throw TestServerError("open fifo failed: errno \(errno)") }
        let input = BridgeInput(fd: fd)
        let config = directory.appendingPathComponent("bot.toml").path
        let command = "bin=$1; cfg=$2; inp=$3; shift 3; exec \"$bin\" run --config \"$cfg\" \"$@\" < \"$inp\""
        let env = ["PATH": "/usr/bin:/bin", "HOME": NSTemporaryDirectory(), "PB_TEST_KEY": Self.apiKey]
        let bridge = try TestServer(executable: "/bin/sh", arguments: ["-c", command, "sh", CLI.binary, config, fifo] + arguments,
                                    environment: env)
        return (bridge, input)
    }

    /// Completion requests the fake model has seen.
    func modelRequests() async throws -> [[String: Any]] {
        let output = try await runPython(["-c", """
            import json, urllib.request
            print(urllib.request.urlopen("http://127.0.0.1:\(modelPort)/_control/requests", timeout=10).read().decode())
            """])
        let parsed = try JSONSerialization.jsonObject(with: Data(output.utf8))
        if let list = parsed as? [[String: Any]] { return list }
        if let object = parsed as? [String: Any], let list = object["requests"] as? [[String: Any]] { return list }
        return []
    }

    /// `PRAGMA integrity_check` through Python's sqlite3 (the store is closed by then).
    func integrityCheck() async throws -> String {
        try await runPython(["-c", "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('PRAGMA integrity_check').fetchone()[0])",
                             storePath]).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// One SQL query's rows, as text lines.
    func query(_ sql: String) async throws -> [String] {
        let out = try await runPython(["-c", """
            import sqlite3, sys
            for row in sqlite3.connect(sys.argv[1]).execute(sys.argv[2]): print("|".join(str(v) for v in row))
            """, storePath, sql])
        return out.split(separator: "\n").map(String.init)
    }
}

/// Runs python3 (or the tools venv's python when `tools`) and returns its standard output; throws on failure.
func runPython(_ arguments: [String], tools: Bool = false) async throws -> String {
    var python = findExecutable("python3") ?? "/usr/bin/python3"
    if tools {
        let venv = RepoPaths.root.appendingPathComponent(".venv-tools/bin/python").path
        if FileManager.default.isExecutableFile(atPath: venv) { python = venv }
    }
    // Standard output goes to a file: the captured pipe may still be draining when the exit is seen.
    let out = FileManager.default.temporaryDirectory.appendingPathComponent("pb-py-\(UUID().uuidString).out").path
    defer { try? FileManager.default.removeItem(atPath: out) }
    let process = try TestServer(executable: "/bin/sh", arguments: ["-c", "out=$1; shift; exec \"$@\" > \"$out\"", "sh", out, python]
                                     + arguments)
    let code = try await process.waitForExit(timeout: .seconds(60))
    let stdout = (try? String(contentsOfFile: out, encoding: .utf8)) ?? ""
    guard code == 0 else { throw TestServerError("python \(arguments.first ?? "") failed (\(code)): \(process.output)\(stdout)") }
    return stdout
}

/// The operations endpoint's port, from the bridge's "operations endpoint ready" log line (notice level). Tests
/// configure `metrics_address` with port 0: the bridge binds a port the kernel picks, so no other process can
/// take it between choosing and binding, as it could with a port probed free in advance.
func operationsPort(of bridge: TestServer, timeout: Duration = .seconds(60)) async throws -> Int {
    try await eventuallyValue("the operations endpoint's port", timeout: timeout, detail: { bridge.output }) { () -> Int? in
        // Only whole lines: the last one may still be arriving.
        let lines = bridge.output.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        guard let line = lines.first(where: { $0.contains("operations endpoint ready") }),
              let match = line.firstMatch(of: /(?:\d{1,3}\.){3}\d{1,3}:(\d+)/) else { return nil }
        return Int(match.1)
    }
}

/// The bridge's whole output once it has exited: the reader thread may still be draining the pipe, so wait for
/// the `jsonl` adapter's last line (it prints `closed` after every send and edit).
func finalOutput(of bridge: TestServer) async throws -> String {
    do {
        try await eventually("the adapter's last line", timeout: .seconds(5)) { bridge.output.contains("{\"op\":\"closed\"}") }
    } catch is TestServerError {}
    return bridge.output
}

/// The bridge's JSON-lines output: final text of every message it sent, in sending order.
struct BridgeTranscript {
    var order: [String] = []
    var texts: [String: String] = [:]
    var channels: [String: String] = [:]

    init(_ output: String) {
        for line in output.split(separator: "\n") where line.hasPrefix("{") {
            guard let object = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: String],
                  let op = object["op"], let id = object["id"], let text = object["text"] else { continue }
            if op == "send" {
                order.append(id)
                channels[id] = object["channel"]
            }
            texts[id] = text
        }
    }

    /// Final texts of the messages sent in `channel`.
    func messages(in channel: String) -> [String] { order.filter { channels[$0] == channel }.compactMap { texts[$0] } }
}

/// The test's end of the bridge's standard input.
final class BridgeInput: @unchecked Sendable {
    // Safe: `fd` is written once in init; writes are whole lines well under PIPE_BUF, so they never interleave.
    private let fd: Int32

    init(fd: Int32) { self.fd = fd }

    /// Writes one JSON message line.
    func send(_ object: [String: Any]) throws {
        var line = try JSONSerialization.data(withJSONObject: object)
        line.append(0x0A)
        let written = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == line.count else { throw TestServerError("write to the bridge's input failed") }
    }

    deinit { close(fd) }
}

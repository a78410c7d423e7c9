import Foundation

/// The new-user path as tests walk it: `persona-bridge init` non-interactively, then `check --online`, then `run`.
public struct Onboarding: Sendable {
    /// The temporary directory holding the config (removed by `remove()`).
    public let directory: URL
    /// The config `init` wrote.
    public var config: String { directory.appendingPathComponent("bot.toml").path }
    /// What `init` printed.
    public let initOutput: String

    /// The built `persona-bridge` binary.
    public static var binary: String { RepoPaths.builtExecutable("persona-bridge") }

    /// Runs `init` with `arguments` plus the shipped personas, the fake model at `modelPort` (key from `PB_TEST_KEY`)
    /// and `--out DIR/bot.toml`; fails the test unless it exits 0.
    public static func initialise(_ arguments: [String], modelPort: Int, prefix: String = "pb-onboarding") async throws -> Onboarding {
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            throw TestServerError("persona-bridge is not built at \(binary); run swift build --build-tests first")
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let process = try TestServer(executable: binary, arguments: ["init"] + arguments + [
            "--personas-dir", RepoPaths.bots.appendingPathComponent("personas").path,
            "--model-base-url", "http://127.0.0.1:\(modelPort)/api/v1", "--api-key-env", "PB_TEST_KEY",
            "--out", directory.appendingPathComponent("bot.toml").path,
        ], environment: ["PATH": "/usr/bin:/bin", "HOME": directory.path])
        let (code, output) = try await process.waitForCompleteOutput(timeout: .seconds(60))
        guard code == 0 else { throw TestServerError("persona-bridge init exited \(code): \(output)") }
        return Onboarding(directory: directory, initOutput: output)
    }

    /// Runs `persona-bridge ARGUMENTS` to completion with `environment` (plus PATH, HOME and `PB_TEST_KEY`).
    public func command(_ arguments: [String], environment: [String: String]) async throws -> (code: Int32, output: String) {
        let process = try TestServer(executable: Self.binary, arguments: arguments, environment: self.environment(environment))
        let (code, output) = try await process.waitForCompleteOutput(timeout: .seconds(120))
        return (code, output)
    }

    /// Starts `persona-bridge run` on the config.
    public func run(environment: [String: String]) throws -> TestServer {
        try TestServer(executable: Self.binary, arguments: ["run", "--config", config], environment: self.environment(environment))
    }

    /// The environment a user would have: PATH, HOME, the model key, and `extra`.
    public func environment(_ extra: [String: String]) -> [String: String] {
        ["PATH": "/usr/bin:/bin", "HOME": directory.path, "PB_TEST_KEY": "sk-test-secret"].merging(extra) { $1 }
    }

    /// Deletes the directory.
    public func remove() { try? FileManager.default.removeItem(at: directory) }
}

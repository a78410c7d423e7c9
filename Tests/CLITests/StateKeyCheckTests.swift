import Foundation
import PBTestSupport
import Testing

/// Point 10: `check` says when platform secrets would be stored unencrypted, and rejects a bad key.
@Suite struct StateKeyCheckTests {
    func writeDiscordConfig() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pb-statekey-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let personas = RepoPaths.bots.appendingPathComponent("personas").path
        try """
            personas_dir = "\(personas)"
            [model]
            provider = "openrouter"
            api_key_env = "OPENROUTER_API_KEY"
            [platforms.discord]
            enabled = true
            token = "${DISCORD_TOKEN}"
            """.write(to: dir.appendingPathComponent("bridge.toml"), atomically: true, encoding: .utf8)
        return dir
    }

    @Test func checkWarnsThatTokensWouldBeStoredInPlainTextWithoutAStateKey() async throws {
        let dir = try writeDiscordConfig()
        defer { try? FileManager.default.removeItem(at: dir) }
        let config = dir.appendingPathComponent("bridge.toml").path
        let base = ["DISCORD_TOKEN": "test-token", "OPENROUTER_API_KEY": "test-key"]
        let (code, output) = try await CLI.run(["check", "--config", config], environment: base)
        #expect(code == 0, "\(output)")
        #expect(output.contains("PB_STATE_KEY") && output.contains("unencrypted"), "\(output)")

        var keyed = base
        keyed["PB_STATE_KEY"] = "a-long-enough-state-key-0123456789"
        let (keyedCode, keyedOutput) = try await CLI.run(["check", "--config", config], environment: keyed)
        #expect(keyedCode == 0, "\(keyedOutput)")
        #expect(!keyedOutput.contains("unencrypted"), "\(keyedOutput)")
        #expect(!keyedOutput.contains("a-long-enough-state-key"), "the key is never echoed")

        var short = base
        short["PB_STATE_KEY"] = "short"
        let (shortCode, shortOutput) = try await CLI.run(["check", "--config", config], environment: short)
        #expect(shortCode == 1, "\(shortOutput)")
        #expect(shortOutput.contains("at least 16 characters"), "\(shortOutput)")
    }
}

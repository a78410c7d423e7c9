import Foundation
import PBTestSupport
import Testing

/// `persona-bridge` choosing its store from `[storage]`, against a real PostgreSQL server.
@Suite("CLI storage selection")
struct CLIStorageTests {
    /// A console-only config whose store is `storageLine`.
    func writeConfig(storage storageLine: String) throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pb-cli-pg-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("personas"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: RepoPaths.bots.appendingPathComponent("personas/rook.toml"),
                                         to: directory.appendingPathComponent("personas/rook.toml"))
        try """
            [model]
            provider = "openrouter"
            api_key_env = "PB_TEST_KEY"

            [storage]
            \(storageLine)

            [platforms.console]
            enabled = true
            channel = "demo"

            [[channels]]
            platform = "console"
            channel = "demo"
            personas = ["rook"]
            """.write(to: directory.appendingPathComponent("bot.toml"), atomically: true, encoding: .utf8)
        return directory
    }

    @Test("chat with a postgres:// URL opens and migrates the PostgreSQL store, password from PB_POSTGRES_PASSWORD_FILE")
    func postgresURLSelectsPostgres() async throws {
        let server = try await PostgresTestServer.shared()
        try await server.withDatabase { database in
            let directory = try writeConfig(storage: "url = \"\(server.url(database: database))\"")
            defer { try? FileManager.default.removeItem(at: directory) }
            let passwordFile = directory.appendingPathComponent("db-password")
            try (server.password + "\n").write(to: passwordFile, atomically: true, encoding: .utf8)
            // Standard input is /dev/null: chat opens everything, reads end of input and exits.
            let (code, output) = try await CLI.run(
                ["chat", "--config", directory.appendingPathComponent("bot.toml").path, "--log-level", "trace"],
                environment: ["PB_TEST_KEY": "k", "PB_POSTGRES_PASSWORD_FILE": passwordFile.path])
            #expect(code == 0, "\(output)")
            #expect(!output.contains(server.password), "the database password must never be printed")
            let migrations = try await server.execute("SELECT string_agg(name, ',' ORDER BY position) FROM pb_schema_migrations",
                                                      database: database)
            #expect(migrations == "v1-initial-schema,v2-usage,v3-imported-personas,v3-prompt-records,v3-reply-alternatives,v4-scene-memory,v4-player-personas,v4-scene-activation,v5-message-rowid")
            #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("state").path),
                    "no SQLite file is created when a URL is configured")
        }
    }

    @Test("a wrong PostgreSQL password stops the CLI with a clear message and without the password")
    func wrongPassword() async throws {
        let server = try await PostgresTestServer.shared()
        try await server.withDatabase { database in
            let directory = try writeConfig(storage: "url = \"\(server.url(database: database))\"")
            defer { try? FileManager.default.removeItem(at: directory) }
            let (code, output) = try await CLI.run(
                ["run", "--config", directory.appendingPathComponent("bot.toml").path],
                environment: ["PB_TEST_KEY": "k", "PB_POSTGRES_PASSWORD": "not-the-password-123"])
            #expect(code == 1, "\(output)")
            #expect(output.contains("cannot open the PostgreSQL store"), "\(output)")
            #expect(output.contains("28P01"), "the server's reason (SQLSTATE) is shown: \(output)")
            #expect(!output.contains("not-the-password-123"))
        }
    }

    @Test("a URL that is not postgres:// is refused with the password redacted")
    func otherScheme() async throws {
        let directory = try writeConfig(storage: "url = \"mysql://bot:hunter2@db/bridge\"")
        defer { try? FileManager.default.removeItem(at: directory) }
        let (code, output) = try await CLI.run(["run", "--config", directory.appendingPathComponent("bot.toml").path],
                                               environment: ["PB_TEST_KEY": "k"])
        #expect(code == 1, "\(output)")
        #expect(output.contains("is not a postgres:// URL"), "\(output)")
        #expect(!output.contains("hunter2"))
    }

    @Test("run refuses a bad shard selection before opening anything")
    func badShards() async throws {
        let directory = try writeConfig(storage: "path = \"state/bridge.sqlite\"")
        defer { try? FileManager.default.removeItem(at: directory) }
        let (code, output) = try await CLI.run(
            ["run", "--config", directory.appendingPathComponent("bot.toml").path, "--shard-ids", "4", "--shard-count", "2"],
            environment: ["PB_TEST_KEY": "k"])
        #expect(code == 1, "\(output)")
        #expect(output.contains("shard 4 is not within 0..<2"), "\(output)")

        let (envCode, envOutput) = try await CLI.run(
            ["run", "--config", directory.appendingPathComponent("bot.toml").path],
            environment: ["PB_TEST_KEY": "k", "PB_SHARD_IDS": "ordinal", "PB_SHARD_COUNT": "2", "HOSTNAME": "laptop"])
        #expect(envCode == 1, "\(envOutput)")
        #expect(envOutput.contains("PB_SHARD_IDS/PB_SHARD_COUNT: 'ordinal' needs HOSTNAME"), "\(envOutput)")
    }

    @Test("run takes its shard from a StatefulSet pod name through PB_SHARD_IDS=ordinal")
    func ordinalShard() async throws {
        let directory = try writeConfig(storage: "path = \"state/bridge.sqlite\"")
        defer { try? FileManager.default.removeItem(at: directory) }
        let process = try TestServer(
            executable: CLI.binary,
            arguments: ["run", "--config", directory.appendingPathComponent("bot.toml").path, "--log-level", "info"],
            environment: ["PATH": "/usr/bin:/bin", "HOME": NSTemporaryDirectory(), "PB_TEST_KEY": "k",
                          "PB_SHARD_IDS": "ordinal", "PB_SHARD_COUNT": "3", "HOSTNAME": "persona-bridge-2"])
        defer { process.stop() }
        try await process.waitForOutput("discord shards 2 of 3 selected", timeout: .seconds(60))
    }
}

import Foundation
import PBTestSupport
import Testing

/// Two `persona-bridge run` processes on one PostgreSQL store, against the fake Discord and the fake model.
@Suite("Two bot processes, one PostgreSQL store", .serialized)
struct ShardedProcessesTests {
    static let general = "900000000000000301"
    static let bot = "900000000000000001"
    /// Few enough to stay inside the channel's message rate limit (5 per 5 s) without long waits.
    static let questions = 6

    /// Calls the fake Discord's control API (this target has no HTTP client; python3 runs the fakes anyway).
    static func control(_ port: Int, _ path: String, post body: String? = nil) async throws -> Any {
        let script = """
            import sys, urllib.request
            body = sys.argv[2].encode() if len(sys.argv) > 2 else None
            request = urllib.request.Request(sys.argv[1], data=body, headers={"Content-Type": "application/json"})
            print(urllib.request.urlopen(request, timeout=30).read().decode())
            """
        let process = try TestServer(executable: "python3",
                                     arguments: ["-c", script, "http://127.0.0.1:\(port)/_control/\(path)"] + (body.map { [$0] } ?? []))
        let (status, output) = try await process.waitForCompleteOutput(timeout: .seconds(60))
        guard status == 0 else { throw TestServerError("control \(path) failed: \(output)") }
        return try JSONSerialization.jsonObject(with: Data(output.utf8), options: [.fragmentsAllowed])
    }

    /// Bot-authored messages (plain or webhook) in #general, as the fake stored them.
    static func botMessages(_ port: Int) async throws -> [[String: Any]] {
        let all = try await control(port, "messages?channel_id=\(general)") as? [[String: Any]] ?? []
        return all.filter { message in
            let author = (message["author"] as? [String: Any])?["id"] as? String
            let webhook = message["webhook_id"].map { !($0 is NSNull) } ?? false
            return (author == bot || webhook) && (message["_deleted"] as? Bool) != true
        }
    }

    @Test("two processes on one Postgres: each of 6 messages answered exactly once",
          arguments: [
            // A rollout overlap: both processes run shard 0 of 1 and both receive every message.
            ([0, 0], 1),
            // Steady state: shards 0 and 1 of 2; the fake's guild lives on shard 1.
            ([0, 1], 2),
          ])
    func eachMessageAnsweredOnce(_ shards: [Int], _ shardCount: Int) async throws {
        let postgres = try await PostgresTestServer.shared()
        let (model, modelPort) = try await startPythonServer("model_server.py")
        defer { model.stop() }
        let (discord, discordPort) = try await startPythonServer("discord_server.py")
        defer { discord.stop() }
        try await postgres.withDatabase { database in
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pb-shards-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory.appendingPathComponent("personas"), withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            try FileManager.default.copyItem(at: RepoPaths.bots.appendingPathComponent("personas/rook.toml"),
                                             to: directory.appendingPathComponent("personas/rook.toml"))
            // One config per process; the shard comes from the command line or the environment, as for two pods.
            let configs = try shards.enumerated().map { index, _ in
                let path = directory.appendingPathComponent("bot-\(index).toml")
                try """
                    [model]
                    provider = "openrouter"
                    base_url = "http://127.0.0.1:\(modelPort)/api/v1"
                    api_key_env = "PB_TEST_KEY"

                    [storage]
                    url = "\(postgres.url(database: database))"

                    [defaults.trigger]
                    mode = "mention"
                    cooldown_seconds = 0

                    [platforms.discord]
                    token = "${PB_DISCORD_TOKEN}"
                    api_base_url = "http://127.0.0.1:\(discordPort)/api/v10"
                    slash_commands = "off"

                    [[channels]]
                    platform = "discord"
                    channel = "\(Self.general)"
                    personas = ["rook"]
                    """.write(to: path, atomically: true, encoding: .utf8)
                return path
            }
            let environment = ["PATH": "/usr/bin:/bin", "HOME": directory.path, "PB_TEST_KEY": "sk-test",
                               "PB_DISCORD_TOKEN": "fake-bot-token", "PB_POSTGRES_PASSWORD": postgres.password]
            // The first process takes its shard from flags, the second from PB_SHARD_IDS/PB_SHARD_COUNT.
            let bridges = try configs.enumerated().map { index, config in
                let flags = index == 0 ? ["--shard-ids", "\(shards[index])", "--shard-count", "\(shardCount)"] : []
                let shardEnvironment = index == 0 ? [:] : ["PB_SHARD_IDS": "\(shards[index])", "PB_SHARD_COUNT": "\(shardCount)"]
                return try TestServer(executable: RepoPaths.builtExecutable("persona-bridge"),
                                      arguments: ["run", "--config", config.path] + flags,
                                      environment: environment.merging(shardEnvironment) { $1 })
            }
            defer { bridges.forEach { $0.stop() } }

            // Both gateways identified and sent READY before any message is sent (then one short settle).
            try await eventually("both bridges identified and sent READY", timeout: .seconds(120),
                                 detail: { bridges.map(\.output).joined(separator: "\n---\n") }) {
                guard ((try await Self.control(discordPort, "stats") as? [String: Any])?["identifies"] as? Int ?? 0) >= 2 else { return false }
                let connections = (try await Self.control(discordPort, "gateway") as? [String: Any])?["connections"] as? [[String: Any]] ?? []
                return connections.filter { $0["ready_at"] is NSNumber }.count >= 2
            }
            try await settle()

            for index in 0..<Self.questions {
                _ = try await Self.control(discordPort, "inject/message",
                                           post: #"{"channel_id": "\#(Self.general)", "content": "question \#(index)", "mention_bot": true}"#)
            }
            // The recorded events: every question answered and every claim committed; a second answer to one of them
            // would be under way by then, and shows within one short settle.
            try await eventually("every question answered", timeout: .seconds(120)) {
                try await Self.botMessages(discordPort).count >= Self.questions
            }
            try await eventually("every claim committed") {
                try await postgres.execute("SELECT count(*) FROM answered", database: database) == String(Self.questions)
            }
            try await settle(.seconds(1))
            let replies = try await Self.botMessages(discordPort)
            #expect(replies.count == Self.questions, "\(replies.count) bot messages for \(Self.questions) questions:\n\(bridges.map(\.output).joined(separator: "\n---\n"))")
            // In the overlap both sessions were sent every message, so the claims decided who answered.
            let sessions = (try await Self.control(discordPort, "gateway") as? [String: Any])?["sessions"] as? [[String: Any]] ?? []
            let receivers = sessions.filter { ($0["seq"] as? Int ?? 0) >= Self.questions }.count
            #expect(receivers == (shardCount == 1 ? 2 : 1), "sessions: \(sessions)")
            let claims = try await postgres.execute("SELECT count(*) FROM answered", database: database)
            #expect(claims == String(Self.questions))
            for bridge in bridges {
                #expect(bridge.isRunning, "\(bridge.output)")
            }
        }
    }
}

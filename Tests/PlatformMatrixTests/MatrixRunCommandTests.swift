import Foundation
import HTTPTransport
import PBTestSupport
@testable import PlatformMatrix
import Testing

/// `persona-bridge run` with `[platforms.matrix]`, as a user starts it.
@Suite(.serialized) struct MatrixRunCommandTests {
    static var binary: String { RepoPaths.builtExecutable("persona-bridge") }

    static func writeConfig(_ text: String) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pb-matrix-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("personas"), withIntermediateDirectories: true)
        try """
            name = "aria"
            display_name = "Aria"
            character = "You are Aria."
            """.write(to: dir.appendingPathComponent("personas/aria.toml"), atomically: true, encoding: .utf8)
        try text.write(to: dir.appendingPathComponent("bot.toml"), atomically: true, encoding: .utf8)
        return dir
    }

    @Test func runAnswersAndSurvivesAProcessRestart() async throws {
        let synapse = try await SharedSynapse.shared.get()
        let http = HTTPClient()
        defer { http.shutdown() }
        let model = try await FakeModel.start(http: http)
        defer { model.stop() }
        let users = try await synapse.register(["bot", "alice"])
        let alice = Human(users["alice"]!, synapse: synapse, http: http)
        let botID = users["bot"]!.userID
        let room = try await alice.createRoom(name: "CLI", invite: [botID])
        let dir = try Self.writeConfig("""
            personas_dir = "personas"
            [model]
            provider = "openrouter"
            base_url = "http://127.0.0.1:\(model.port)/api/v1"
            api_key_env = "PB_TEST_KEY"
            max_attempts = 1
            [storage]
            path = "state.sqlite"
            [platforms.matrix]
            homeserver_url = "\(synapse.url)"
            user_id = "\(botID)"
            password = "${PB_MATRIX_PASSWORD}"
            invite_allowlist = ["\(alice.id)"]
            [[channels]]
            platform = "matrix"
            channel = "\(room)"
            personas = ["aria"]
            """)
        defer { try? FileManager.default.removeItem(at: dir) }
        let environment = ["PATH": "/usr/bin:/bin", "HOME": NSTemporaryDirectory(), "PB_TEST_KEY": "k",
                           "PB_MATRIX_PASSWORD": users["bot"]!.password]
        let arguments = ["run", "--config", dir.appendingPathComponent("bot.toml").path]
        let first = try TestServer(executable: Self.binary, arguments: arguments, environment: environment)
        defer { first.stop() }
        try await eventually("the bot joins", timeout: .seconds(90)) { try await alice.joinedMembers(room).contains(botID) }
        let question = try await alice.say("Aria, hello from the CLI", in: room)
        let original = try await eventuallyValue("the reply through run") {
            try await alice.messages(in: room).first { $0.sender == botID && $0.inReplyTo == question }
        }
        try await eventually("the full echo text") {
            shownContent(try await alice.event(original.eventID!, in: room))?["body"]?.string == "You said: Aria, hello from the CLI"
        }
        // The recorded event: a later line of alice's is in the store, so the sync that carried the reply's own echo
        // (before it) has been handled too; then kill the process outright.
        let store = dir.appendingPathComponent("state.sqlite").path
        func stored(_ text: String) async throws -> Bool {
            try await sqliteScalar(store, "SELECT count(*) FROM message WHERE text = '\(text)'") != "0"
        }
        try await alice.say("checkpoint one", in: room)
        try await eventually("alice's checkpoint stored") { try await stored("checkpoint one") }
        first.stop()

        let whileDown = try await alice.say("Aria, did you restart?", in: room)
        let second = try TestServer(executable: Self.binary, arguments: arguments, environment: environment)
        defer { second.stop() }
        try await eventually("the message sent while the process was down is answered", timeout: .seconds(90)) {
            try await alice.messages(in: room).contains { $0.sender == botID && $0.inReplyTo == whileDown }
        }
        // The recorded event: a later line is stored (the restart has handled everything before it); one short settle.
        try await alice.say("checkpoint two", in: room)
        try await eventually("alice's second checkpoint stored") { try await stored("checkpoint two") }
        try await settle()
        let replies = try await alice.messages(in: room).filter { $0.sender == botID && $0.replaces == nil }
        #expect(replies.filter { $0.inReplyTo == question }.count == 1, "the old message is not answered again")
        #expect(replies.count == 2)
        let devices = try await Human(users["bot"]!, synapse: synapse, http: http).client.call(.get, "/devices")
        let bridgeDevices = devices["devices"]?.array?.filter { $0["display_name"]?.string == "PersonaBridge" } ?? []
        #expect(bridgeDevices.count == 1, "both runs share one device: \(devices)")
        for process in [first, second] { #expect(!process.output.contains(users["bot"]!.password)) }
    }

    @Test func runRefusesABadMatrixSectionWithAClearError() async throws {
        let dir = try Self.writeConfig("""
            personas_dir = "personas"
            [model]
            provider = "openrouter"
            base_url = "http://127.0.0.1:9/api/v1"
            api_key_env = "PB_TEST_KEY"
            [storage]
            path = "state.sqlite"
            [platforms.matrix]
            homeserver_url = "matrix.example.org"
            user_id = "@bot:example.org"
            password = "${PB_MATRIX_PASSWORD}"
            """)
        defer { try? FileManager.default.removeItem(at: dir) }
        let process = try TestServer(
            executable: Self.binary, arguments: ["run", "--config", dir.appendingPathComponent("bot.toml").path],
            environment: ["PATH": "/usr/bin:/bin", "HOME": NSTemporaryDirectory(), "PB_TEST_KEY": "k",
                          "PB_MATRIX_PASSWORD": "secret-pw"])
        let code = try await process.waitForExit(timeout: .seconds(60))
        #expect(code == 1, "\(process.output)")
        #expect(process.output.contains("[platforms.matrix]"), "\(process.output)")
        #expect(process.output.contains("homeserver_url"), "\(process.output)")
        #expect(!process.output.contains("secret-pw"))
    }
}

import BridgeConfig
import BridgeCore
import Foundation
import HTTPTransport
import Logging
import ModelClient
import PBTestSupport
@testable import PlatformMatrix
import Storage
import Synchronization
import Testing

/// A registered Synapse user.
struct SynapseAccount: Sendable {
    let name: String
    let userID: String
    let password: String
    let accessToken: String
}

/// A real Synapse on a free loopback port (SQLite, offline), run through `Tests/Servers/synapse/synapse_server.py`.
final class Synapse: Sendable {
    static let sharedSecret = "pb-test-shared-secret"
    let server: TestServer
    let port: Int
    let directory: URL
    var url: String { "http://127.0.0.1:\(port)" }

    private init(server: TestServer, port: Int, directory: URL) {
        self.server = server
        self.port = port
        self.directory = directory
    }

    /// The Python that has matrix-synapse: `$PB_SYNAPSE_PYTHON`, else `.venv-synapse/bin/python` at the repo root.
    static func python() throws -> String {
        if let env = ProcessInfo.processInfo.environment["PB_SYNAPSE_PYTHON"], !env.isEmpty { return env }
        let venv = RepoPaths.root.appendingPathComponent(".venv-synapse/bin/python").path
        let marker = RepoPaths.root.appendingPathComponent(".venv-synapse/bin/synctl").path
        guard FileManager.default.isExecutableFile(atPath: venv), FileManager.default.fileExists(atPath: marker) else {
            throw TestServerError(
                "Synapse is not installed: the Matrix integration tests need matrix-synapse in .venv-synapse/ at the repo root. "
                    + "Run Deploy/scripts/setup.sh --test (it creates the virtualenv and pip-installs matrix-synapse), "
                    + "or set PB_SYNAPSE_PYTHON to a python that has it.")
        }
        return venv
    }

    /// Starts Synapse; with `port` and `directory` it restarts an earlier one on its database.
    static func start(defaultRateLimits: Bool = false, port fixedPort: Int? = nil, directory fixedDirectory: URL? = nil,
                      appservices: [String] = [])
        async throws -> Synapse
    {
        let python = try python()
        // Synapse cannot bind port 0 and report it: the port is a candidate written into its config, and a bind
        // error (Synapse exits) writes the config again with a new one.
        return try await retryingOnBindError { _ in
            let port = try fixedPort ?? freeLoopbackPort()
            let directory = fixedDirectory
                ?? FileManager.default.temporaryDirectory.appendingPathComponent("pb-synapse-\(UUID().uuidString)")
            var arguments = [RepoPaths.servers.appendingPathComponent("synapse/synapse_server.py").path,
                             "--port", String(port), "--dir", directory.path, "--shared-secret", sharedSecret]
            if defaultRateLimits { arguments.append("--default-rate-limits") }
            for registration in appservices { arguments += ["--appservice", registration] }
            let server = try TestServer(executable: python, arguments: arguments,
                                        missingHint: "run Deploy/scripts/setup.sh --test to install Synapse")
            do {
                try await server.waitForOutput("READY", timeout: .seconds(120))
                return Synapse(server: server, port: port, directory: directory)
            } catch {
                server.stop()
                if fixedDirectory == nil { try? FileManager.default.removeItem(at: directory) }
                if server.output.localizedCaseInsensitiveContains("address already in use") {
                    throw PortInUseError(output: server.output)
                }
                throw error
            }
        }
    }

    /// Registers users (unique names) through the shared-secret admin API.
    func register(_ names: [String]) async throws -> [String: SynapseAccount] {
        let tag = String(UInt32.random(in: 0...UInt32.max), radix: 36)
        let specs = names.map { "\($0)\(tag):pw-\($0)" }
        let script = RepoPaths.servers.appendingPathComponent("synapse/register_users.py").path
        var failures: [String] = []
        var found: (line: Substring, json: MatrixJSON)?
        // A retry with fresh names: a loaded machine has made a registration fail once (output kept for the error).
        for attempt in 0..<3 where found == nil {
            let run = try TestServer(executable: findExecutable("python3") ?? "python3",
                                     arguments: [script, "--url", url, "--secret", Self.sharedSecret]
                                        + specs.map { attempt == 0 ? $0 : "r\(attempt)" + $0 })
            let status = try await run.waitForExit(timeout: .seconds(60))
            if status == 0, let line = run.output.split(separator: "\n").last(where: { $0.hasPrefix("{") }),
                let json = try? MatrixJSON.parse(Array(line.utf8))
            {
                found = (line, attempt == 0 ? json : Self.unprefixed(json, "r\(attempt)"))
            } else {
                failures.append(run.output)
            }
        }
        guard let (line, json) = found else {
            throw TestServerError("registering \(names) failed:\n\(failures.joined(separator: "\n---\n"))")
        }
        if !failures.isEmpty { print("note: a registration was retried after:\n\(failures.joined(separator: "\n---\n"))") }
        var out: [String: SynapseAccount] = [:]
        for name in names {
            let entry = json["\(name)\(tag)"]
            guard let user = entry?["user_id"]?.string, let token = entry?["access_token"]?.string else {
                throw TestServerError("no account for \(name) in \(line)")
            }
            out[name] = SynapseAccount(name: name, userID: user, password: "pw-\(name)", accessToken: token)
        }
        return out
    }

    private static func unprefixed(_ json: MatrixJSON, _ prefix: String) -> MatrixJSON {
        .object(Dictionary(uniqueKeysWithValues: (json.object ?? [:]).map { (String($0.key.dropFirst(prefix.count)), $0.value) }))
    }

    func stop() {
        server.stop()
        try? FileManager.default.removeItem(at: directory)
    }

    /// Kills the server but keeps its database, for a restart.
    func crash() {
        server.stop()
    }
}

/// One Synapse with relaxed limits for the whole test process (it starts in seconds; tests use their own users and rooms).
actor SharedSynapse {
    static let shared = SharedSynapse()
    private var instance: Synapse?

    func get() async throws -> Synapse {
        if let instance, instance.server.isRunning { return instance }
        let started = try await Synapse.start()
        // It lives until the test process exits: its database goes then (some 8 MB a run otherwise stayed behind).
        removeAtExit(started.directory.path)
        instance = started
        return started
    }
}

/// A human Matrix user driven by the test, on the same client code.
struct Human: Sendable {
    let account: SynapseAccount
    let client: MatrixClient

    init(_ account: SynapseAccount, synapse: Synapse, http: HTTPClient) {
        self.account = account
        client = MatrixClient(homeserver: synapse.url, http: http, accessToken: account.accessToken,
                              logger: Logger(label: "test.human"))
    }

    var id: String { account.userID }

    func createRoom(name: String, invite: [String], powerLevelUsers: [String: Int]? = nil) async throws -> String {
        var body: [String: MatrixJSON] = ["preset": "private_chat", "name": .string(name), "invite": .array(invite.map { .string($0) })]
        if let powerLevelUsers {
            body["power_level_content_override"] = ["users": .object(powerLevelUsers.mapValues { .number(Double($0)) })]
        }
        let json = try await client.call(.post, "/createRoom", body: .object(body))
        guard let room = json["room_id"]?.string else { throw TestServerError("createRoom: \(json)") }
        return room
    }

    func join(_ room: String) async throws { try await client.join(room) }

    @discardableResult
    func say(_ text: String, in room: String) async throws -> String {
        try await client.send(room, txnID: UUID().uuidString, content: ["msgtype": "m.text", "body": .string(text)])
    }

    func event(_ id: String, in room: String) async throws -> MatrixJSON {
        try await client.call(.get, "/rooms/\(MatrixClient.segment(room))/event/\(MatrixClient.segment(id))")
    }

    /// The room's recent message events, oldest first.
    func messages(in room: String) async throws -> [MatrixEvent] {
        let json = try await client.call(.get, "/rooms/\(MatrixClient.segment(room))/messages",
                                         query: [("dir", "b"), ("limit", "500")])
        return (json["chunk"]?.array ?? []).compactMap(MatrixEvent.init(json:)).filter { $0.type == "m.room.message" }.reversed()
    }

    func joinedMembers(_ room: String) async throws -> [String] {
        let json = try await client.call(.get, "/rooms/\(MatrixClient.segment(room))/joined_members")
        return Array(json["joined"]?.object?.keys ?? [:].keys)
    }
}


/// Drives the fake model server's control API.
struct FakeModel: Sendable {
    let server: TestServer
    let port: Int
    let http: HTTPClient

    static func start(http: HTTPClient) async throws -> FakeModel {
        let (server, port) = try await startPythonServer("model_server.py")
        return FakeModel(server: server, port: port, http: http)
    }

    func client() -> ModelSession {
        ModelSession(
            configuration: ModelClientConfiguration(provider: .openrouter, baseURL: "http://127.0.0.1:\(port)/api/v1",
                                                    model: "minimax/minimax-m2-her", apiKey: APIKey("test-key"), maxAttempts: 1),
            httpClient: http, logger: Logger(label: "test.model"))
    }

    /// Queues replies (specs as in model_server.py's docstring).
    func script(_ replies: [MatrixJSON]) async throws {
        let request = HTTPRequest(method: .post, url: "http://127.0.0.1:\(port)/_control/script",
                                  headers: ["Content-Type": "application/json"], body: (["replies": .array(replies)] as MatrixJSON).bytes)
        let response = try await http.execute(request)
        _ = try await response.body.collect(upTo: 1 << 20)
        guard response.status == 200 else { throw TestServerError("script failed: HTTP \(response.status)") }
    }

    func stop() { server.stop() }
}

/// A bot process: platform + router over a store, started and stopped by the test.
final class Bot: Sendable {
    let platform: MatrixPlatform
    let router: Router
    let task: Task<Void, Never>
    let failure: LockedBox<(any Error)?>

    private init(platform: MatrixPlatform, router: Router, task: Task<Void, Never>, failure: LockedBox<(any Error)?>) {
        self.platform = platform
        self.router = router
        self.task = task
        self.failure = failure
    }

    /// Runs the platform and the router until `stop()`; a platform error is kept in `failure`.
    static func launch(platform: MatrixPlatform, router: Router) -> Bot {
        let failure = LockedBox<(any Error)?>(nil)
        let task = Task {
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    do { try await platform.run() } catch { failure.set(error) }
                }
                group.addTask { try? await router.run() }
            }
        }
        return Bot(platform: platform, router: router, task: task, failure: failure)
    }

    static let aria = Persona(name: "aria", displayName: "Aria", character: "You are Aria, a tavern keeper.")
    static let bard = Persona(name: "bard", displayName: "Bard", character: "You are a bard.")

    static func start(synapse: Synapse, account: SynapseAccount, store: any Store, model: any ChatModel, http: HTTPClient,
                      allow: [String], maxEdits: Int = 30, budget: EditBudget = EditBudget(burst: 3, interval: .milliseconds(1500)),
                      accessToken: String? = nil) async throws -> Bot {
        let configuration = MatrixPlatformConfiguration(
            homeserverURL: synapse.url, userID: account.userID, accessToken: accessToken,
            password: accessToken == nil ? account.password : nil, deviceName: "test bot", inviteAllowlist: allow,
            maxEditsPerReply: maxEdits, catchUpWindow: .seconds(600), syncTimeout: .seconds(5), initialEditBudget: budget,
            retryInitialDelay: .milliseconds(200), retryMaxDelay: .seconds(2))
        let platform = MatrixPlatform(configuration: configuration, http: http, store: store, logger: Logger(label: "test.matrix"))
        let router = Router(configuration: RouterConfiguration(personas: [aria, bard], defaultPersonas: ["aria"]),
                            model: model, store: store, platforms: [platform], logger: Logger(label: "test.router"))
        let bot = Bot.launch(platform: platform, router: router)
        try await eventually("the bot's first sync") { platform.isReady || bot.failure.get() != nil }
        if let error = bot.failure.get() { throw error }
        return bot
    }

    func stop() async {
        task.cancel()
        await task.value
    }
}

/// A tiny lock box for test state shared with tasks.
final class LockedBox<Value: Sendable>: Sendable {
    private let value: Mutex<Value>
    init(_ value: Value) { self.value = Mutex(value) }
    func get() -> Value { value.withLock { $0 } }
    func set(_ new: Value) { value.withLock { $0 = new } }
}

extension MatrixEvent {
    /// The `m.in_reply_to` target.
    var inReplyTo: String? { content["m.relates_to"]?["m.in_reply_to"]?["event_id"]?.string }
    /// The `m.replace` target.
    var replaces: String? {
        content["m.relates_to"]?["rel_type"]?.string == "m.replace" ? content["m.relates_to"]?["event_id"]?.string : nil
    }
}

/// The text of an event as clients show it: the bundled latest edit's `m.new_content`, else the body.
func shownContent(_ event: MatrixJSON) -> MatrixJSON? {
    if let edit = event["unsigned"]?["m.relations"]?["m.replace"], let new = edit["content"]?["m.new_content"] { return new }
    return event["content"]
}

/// The usual setup: a Synapse, a bot running platform + router, humans, and one room the bot has joined.
final class Scenario: Sendable {
    let synapse: Synapse
    let http: HTTPClient
    let model: FakeModel?
    let users: [String: SynapseAccount]
    let humans: [String: Human]
    let store: SQLiteStore
    let bot: Bot
    let room: String

    var alice: Human { humans["alice"]! }
    var botID: String { users["bot"]!.userID }

    private init(synapse: Synapse, http: HTTPClient, model: FakeModel?, users: [String: SynapseAccount],
                 humans: [String: Human], store: SQLiteStore, bot: Bot, room: String) {
        self.synapse = synapse
        self.http = http
        self.model = model
        self.users = users
        self.humans = humans
        self.store = store
        self.bot = bot
        self.room = room
    }

    /// Starts everything; `fixedReply` replaces the fake model server with a fixed answer.
    static func start(synapse given: Synapse? = nil, humans names: [String] = ["alice"], fixedReply: String? = nil,
                      maxEdits: Int = 30, budget: EditBudget = EditBudget(burst: 3, interval: .milliseconds(1500)))
        async throws -> Scenario
    {
        let synapse: Synapse
        if let given { synapse = given } else { synapse = try await SharedSynapse.shared.get() }
        let http = HTTPClient()
        let model = fixedReply == nil ? try await FakeModel.start(http: http) : nil
        let users = try await synapse.register(["bot"] + names)
        var humans: [String: Human] = [:]
        for name in names { humans[name] = Human(users[name]!, synapse: synapse, http: http) }
        let store = try SQLiteStore.inMemory()
        let chat: any ChatModel = model?.client() ?? FixedModel(text: fixedReply ?? "")
        let bot = try await Bot.start(synapse: synapse, account: users["bot"]!, store: store, model: chat, http: http,
                                      allow: [users[names[0]]!.userID], maxEdits: maxEdits, budget: budget)
        let botID = users["bot"]!.userID
        let first = humans[names[0]]!
        let room = try await first.createRoom(name: "Room of \(names[0])", invite: [botID])
        try await eventually("the bot joins on the invite") { try await first.joinedMembers(room).contains(botID) }
        return Scenario(synapse: synapse, http: http, model: model, users: users, humans: humans, store: store, bot: bot, room: room)
    }

    /// Queues one streamed model reply made of `tokens`.
    func script(tokens: [String], interval: Double) async throws {
        try await model!.script([["tokens": .array(tokens.map { .string($0) }), "token_interval": .number(interval)]])
    }

    /// The bot's messages (not edits) in the room, oldest first.
    func botMessages() async throws -> [MatrixEvent] {
        try await alice.messages(in: room).filter { $0.sender == botID && $0.replaces == nil }
    }

    /// The bot's first message, once it is there.
    func firstReply() async throws -> MatrixEvent {
        try await eventuallyValue("the bot's reply") { try await self.botMessages().first }
    }

    /// Edits of `original`, oldest first.
    func edits(of original: MatrixEvent) async throws -> [MatrixEvent] {
        try await alice.messages(in: room).filter { $0.sender == botID && $0.replaces == original.eventID }
    }

    /// Waits until clients would show `text` for `original` (its latest edit as the server bundles it).
    @discardableResult
    func waitUntilShown(_ original: MatrixEvent, _ text: String, timeout: Duration = .seconds(60)) async throws -> MatrixJSON {
        try await eventuallyValue("the complete text as the latest edit", timeout: timeout) { () async throws -> MatrixJSON? in
            guard let shown = shownContent(try await self.alice.event(original.eventID!, in: self.room)) else { return nil }
            return shown["body"]?.string == text ? shown : nil
        }
    }

    /// Stops the bot, the fake model and the HTTP client.
    func finish() async {
        await bot.stop()
        model?.stop()
        http.shutdown()
    }

    deinit {
        bot.task.cancel()
        model?.stop()
    }
}

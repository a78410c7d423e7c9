import BridgeConfig
@testable import BridgeCore
import Foundation
import HTTPTransport
import Logging
import ModelClient
import PBTestSupport
import ServiceLifecycle
import Storage
import Testing
@testable import PlatformDiscord

/// Ids of the fake's default world (see discord_server.py).
enum World {
    static let bot = "900000000000000001"
    static let guild = "900000000000000100"
    static let general = "900000000000000301"
    static let roleplay = "900000000000000302"
    static let channels = (301...305).map { "900000000000000\($0)" }
    static let thread = "900000000000000351"
    static let moderatorRole = "900000000000000201"
    static let owner = "900000000000000401"
    static let moderator = "900000000000000402"
    static let alice = "900000000000000403"
    static let bob = "900000000000000404"
}

/// A JSON value from the control API, read with subscripts.
struct JSON: @unchecked Sendable {
    // Safe: the wrapped value is an immutable tree of Foundation JSON objects.
    let value: Any?
    init(_ value: Any?) { self.value = value }
    subscript(key: String) -> JSON { JSON((value as? [String: Any])?[key]) }
    subscript(index: Int) -> JSON {
        guard let array = value as? [Any], index < array.count else { return JSON(nil) }
        return JSON(array[index])
    }
    var array: [JSON] { (value as? [Any])?.map(JSON.init) ?? [] }
    var string: String? { value as? String }
    var int: Int? { (value as? NSNumber)?.intValue }
    var double: Double? { (value as? NSNumber)?.doubleValue }
    var bool: Bool? { (value as? NSNumber)?.boolValue }
    var isNull: Bool { value == nil || value is NSNull }
}

extension JSON: CustomStringConvertible {
    /// The plain value, for failure reports.
    var description: String { isNull ? "null" : "\(value!)" }
}

/// The fake Discord process plus a control client.
final class FakeDiscord: Sendable {
    let server: TestServer
    let port: Int
    let http: HTTPClient

    var apiBase: String { "http://127.0.0.1:\(port)/api/v10" }

    static func start(config: [String: Any] = [:]) async throws -> FakeDiscord {
        var arguments: [String] = []
        if !config.isEmpty {
            let data = try JSONSerialization.data(withJSONObject: config)
            arguments = ["--config", String(decoding: data, as: UTF8.self)]
        }
        let (server, port) = try await startPythonServer("discord_server.py", arguments: arguments)
        return FakeDiscord(server: server, port: port)
    }

    private init(server: TestServer, port: Int) {
        self.server = server
        self.port = port
        self.http = HTTPClient(logger: Logger(label: "fake-control"))
    }

    func stop() {
        server.stop()
        http.shutdown()
    }

    @discardableResult
    func post(_ path: String, _ body: [String: Any] = [:]) async throws -> JSON {
        let data = try JSONSerialization.data(withJSONObject: body)
        let response = try await http.execute(HTTPRequest(method: .post, url: "http://127.0.0.1:\(port)/_control/\(path)",
                                                          headers: ["Content-Type": "application/json"], body: Array(data)))
        let bytes = try await response.body.collect(upTo: 64 << 20)
        guard response.status == 200 else {
            throw TestServerError("control \(path) returned \(response.status): \(String(decoding: bytes, as: UTF8.self))")
        }
        return JSON(try? JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed]))
    }

    func get(_ path: String) async throws -> JSON {
        let response = try await http.execute(HTTPRequest(url: "http://127.0.0.1:\(port)/_control/\(path)"))
        let bytes = try await response.body.collect(upTo: 256 << 20)
        return JSON(try? JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed]))
    }

    func stats() async throws -> JSON { try await get("stats") }

    /// One counter from `/_control/stats` (absent counters are zero).
    func counter(_ name: String) async throws -> Int { try await stats()[name].int ?? 0 }

    /// Bot-authored messages (plain or webhook) in a channel, oldest first.
    func botMessages(in channel: String) async throws -> [JSON] {
        try await get("messages?channel_id=\(channel)").array.filter {
            ($0["author"]["id"].string == World.bot || !$0["webhook_id"].isNull) && $0["_deleted"].bool != true
                && $0["flags"].int.map { $0 & 64 == 0 } ?? true
        }
    }

    /// Injects a message; returns its id.
    @discardableResult
    func inject(_ content: String, channel: String = World.general, author: String = World.alice, mentionBot: Bool = true,
                extra: [String: Any] = [:]) async throws -> String {
        var body: [String: Any] = ["channel_id": channel, "content": content, "author_id": author, "mention_bot": mentionBot]
        for (k, v) in extra { body[k] = v }
        let result = try await post("inject/message", body)
        return result["message"]["id"].string ?? ""
    }
}

/// A model that streams a fixed text per request in timed pieces.
final class TimedModel: ChatModel, Sendable {
    let reply: @Sendable (ChatRequest) -> String
    let pieces: Int
    let interval: Duration

    init(pieces: Int = 8, interval: Duration = .milliseconds(150), reply: @escaping @Sendable (ChatRequest) -> String) {
        self.reply = reply
        self.pieces = pieces
        self.interval = interval
    }

    func stream(_ request: ChatRequest) -> AsyncThrowingStream<ModelEvent, Error> {
        let text = reply(request)
        let pieces = max(1, min(self.pieces, text.count))
        let interval = self.interval
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: ModelEvent.self, throwing: Error.self)
        let task = Task {
            let size = (text.count + pieces - 1) / pieces
            var rest = Substring(text)
            while !rest.isEmpty {
                continuation.yield(.delta(String(rest.prefix(size))))
                rest = rest.dropFirst(size)
                // The model's token pacing (what the fake models), not a wait for an event.
                if !rest.isEmpty { try? await Task.sleep(for: interval) }
            }
            continuation.yield(.finish(.stop))
            continuation.yield(.usage(TokenUsage(promptTokens: 100, completionTokens: 10)))
            continuation.finish()
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }
}

/// The adapter and a router over it, running against a fake.
final class DiscordBridge: Sendable {
    static let aria = Persona(name: "aria", displayName: "Aria", character: "Aria is a cheerful bard.")
    static let bolt = Persona(name: "bolt", displayName: "Bolt", avatarURL: "https://example.org/bolt.png",
                              character: "Bolt is a grumpy smith.")

    let platform: DiscordPlatform
    let router: Router
    let store: SQLiteStore
    let logs: LogCapture
    let task: Task<Error?, Never>

    init(fake: FakeDiscord, model: any ChatModel, storePath: String? = nil, personas: [Persona] = [DiscordBridge.aria, DiscordBridge.bolt],
         defaultPersonas: [String] = ["aria"], bindings: [RouterConfiguration.Binding] = [], dmPersonas: [String] = [],
         logger given: Logger? = nil, configure: (inout DiscordPlatformConfiguration) -> Void = { _ in },
         routerStore: (SQLiteStore) -> any Store = { $0 }, random: SeededGenerator? = nil) async throws {
        let logs = LogCapture()
        let logger = given ?? logs.logger(label: "discord-test", level: .debug)
        let store: SQLiteStore
        if let storePath { store = try await SQLiteStore.open(.file(path: storePath), logger: logger) } else { store = try SQLiteStore.inMemory() }
        var configuration = DiscordPlatformConfiguration(
            token: "fake-bot-token", apiBaseURL: fake.apiBase,
            gateway: DiscordGatewayConfiguration(backoffBase: .milliseconds(50), backoffCap: .seconds(1),
                                                 identifySpacing: .milliseconds(10)),
            boundChannels: bindings.map { .init(channelID: $0.channelID, guildID: World.guild, multiplePersonas: $0.personas.count > 1) })
        configure(&configuration)
        let platform = DiscordPlatform(configuration: configuration, http: fake.http, store: store, logger: logger)
        var routerConfiguration = RouterConfiguration(personas: personas, bindings: bindings, defaultPersonas: defaultPersonas)
        routerConfiguration.dmPersonas = dmPersonas.isEmpty ? [:] : ["discord": dmPersonas]
        let router = if let random {
            Router(configuration: routerConfiguration, model: model, store: routerStore(store), platforms: [platform],
                   clock: ContinuousClock(), random: random, logger: logger)
        } else {
            Router(configuration: routerConfiguration, model: model, store: routerStore(store), platforms: [platform],
                   clock: ContinuousClock(), logger: logger)
        }
        self.platform = platform
        self.router = router
        self.store = store
        self.logs = logs
        task = Task {
            // The platform's error is the one that says why the bridge ended (a fatal close code, a refused token).
            // The router ends when the platform's events end, which the platform's run does just before it throws,
            // so the router may finish first: take both results, not the first one.
            await withTaskGroup(of: (fromPlatform: Bool, error: (any Error)?).self) { group in
                group.addTask {
                    do { try await platform.run(); return (true, nil) } catch { return (true, error) }
                }
                group.addTask {
                    do { try await router.run(); return (false, nil) } catch { return (false, error) }
                }
                var platformError: (any Error)?
                var routerError: (any Error)?
                var cancelled = false
                for await result in group {
                    if result.fromPlatform { platformError = result.error } else { routerError = result.error }
                    if !cancelled {
                        cancelled = true
                        group.cancelAll()
                    }
                }
                return platformError ?? routerError
            }
        }
    }

    func stop() async {
        task.cancel()
        _ = await task.value
    }

    /// The recorded event before a "nothing else happened" check: every event the adapter queued has been taken
    /// by the router, its history committed, and no reply is running; then one short settle.
    func waitIdle() async throws {
        try await eventually("the bridge idle (events handled, history committed, no reply running)") {
            guard platform.events.count == 0, router.recorder.depth == 0 else { return false }
            return await router.replies.isIdle
        }
        try await settle()
    }

    /// Waits for READY (or RESUMED) on the current connection.
    func waitReady(readies: Int = 1) async throws {
        try await eventually("READY") { self.platform.gateway.stats.readies >= readies && self.platform.gateway.stats.phase == .ready }
    }
}

struct WaitTimeout: Error, CustomStringConvertible {
    let what: String
    var description: String { "timed out waiting for \(what)" }
}


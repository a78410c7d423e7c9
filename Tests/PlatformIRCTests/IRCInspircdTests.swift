import BridgeConfig
@testable import BridgeCore
import Foundation
import Logging
import ModelClient
import PBTestSupport
@testable import PlatformIRC
import Storage
import Synchronization
import Testing

/// A model that answers with the same text and counts the requests it gets.
final class CountingModel: ChatModel, Sendable {
    let reply: String
    private let requests = Mutex<[ChatRequest]>([])

    init(reply: String) { self.reply = reply }

    var count: Int { requests.withLock { $0.count } }
    var lastUserText: String? { requests.withLock { $0.last?.messages.last?.content } }

    func stream(_ request: ChatRequest) -> AsyncThrowingStream<ModelEvent, Error> {
        requests.withLock { $0.append(request) }
        return AsyncThrowingStream { continuation in
            continuation.yield(.delta(reply))
            continuation.yield(.finish(.stop))
            continuation.finish()
        }
    }
}

/// The bot plus a Router, running until `stop()`.
struct RunningBridge {
    let platform: IRCPlatform
    let store: SQLiteStore
    let router: Router
    let task: Task<Void, Never>

    static func start(port: Int, model: any ChatModel, personas: [Persona] = [Persona(name: "aria", displayName: "Aria", character: "You are Aria.")],
                      bound: [String] = ["aria"], configure: (inout IRCPlatformConfiguration) -> Void = { _ in }) throws -> RunningBridge {
        var configuration = botConfiguration(port: port, channels: ["#test"])
        configure(&configuration)
        let bindings: [RouterConfiguration.Binding] = [.init(platform: "irc", channelID: "#test", personas: bound)]
        return try start(configuration, router: RouterConfiguration(personas: personas, bindings: bindings), model: model)
    }

    /// The bot as `configuration` says, under a Router configured as `router`, over an in-memory store.
    static func start(_ configuration: IRCPlatformConfiguration, router routerConfiguration: RouterConfiguration,
                      model: any ChatModel) throws -> RunningBridge {
        let platform = IRCPlatform(configuration: configuration, logger: Logger(label: "test.irc"))
        let store = try SQLiteStore.inMemory()
        let router = Router(configuration: routerConfiguration, model: model, store: store, platforms: [platform],
                            clock: ContinuousClock(), logger: Logger(label: "test.router"))
        let task = Task {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { try? await platform.run() }
                group.addTask { try? await router.run() }
            }
        }
        return RunningBridge(platform: platform, store: store, router: router, task: task)
    }

    /// The recorded event before a "nothing else happened" check: `human` says a line nobody is asked to answer;
    /// once it is in history the bridge has read and handled everything the server sent it before, and once no
    /// reply runs either, one short settle.
    func waitIdle(after human: IRCHuman) async throws {
        let checkpoint = "checkpoint \(UUID().uuidString)"
        try await human.send("PRIVMSG #test :\(checkpoint)")
        let key = ChannelKey(platform: "irc", channelID: "#test")
        try await eventually("the checkpoint line in history") {
            try await store.recentMessages(in: key, limit: 100, after: nil).contains { $0.text == checkpoint }
        }
        try await eventually("no reply running") { await router.replies.isIdle }
        try await settle()
    }

    func stop() async {
        task.cancel()
        await task.value
    }
}

/// `!pb persona set rook` in #test: refused (and nothing stored) for `refused`, then done for `allowed`.
func expectPersonaSetRefused(for refused: IRCHuman, thenAllowedFor allowed: IRCHuman, in bridge: RunningBridge) async throws {
    let key = ChannelKey(platform: "irc", channelID: "#test")
    try await refused.send("PRIVMSG #test :!pb persona set rook")
    _ = try await refused.waitFor("refusal") { $0.hasPrefix(":aria!") && $0.contains("only moderators or bridge admins") }
    #expect(try await bridge.store.channelSettings(for: key)?.personas != ["rook"])
    try await allowed.send("PRIVMSG #test :!pb persona set rook")
    _ = try await allowed.waitFor("confirmation") { $0.hasPrefix(":aria!") && $0.contains("Rook now answers here.") }
    #expect(try await bridge.store.channelSettings(for: key)?.personas == ["rook"])
}

/// Acceptance on InspIRCd 3: IRCv3 capabilities negotiated and used, moderator commands, typing.
@Suite(.serialized) struct IRCInspircdTests {
    @Test func basicReplyWithServerTimeAndEchoMessage() async throws {
        let server = try await Inspircd.start()
        defer { server.stop() }
        let alice = try await IRCHuman.connect(port: server.port, nick: "alice")
        try await alice.join("#test")
        // The reply names the bot: if its own echo were taken as a new message it would trigger another reply.
        let model = CountingModel(reply: "Hello alice, aria is here.")
        let bridge = try RunningBridge.start(port: server.port, model: model)
        _ = try await alice.waitFor("aria joins #test") { $0.hasPrefix(":aria!") && $0.contains(" JOIN ") }
        let capabilities = bridge.platform.enabledCapabilities
        #expect(capabilities.isSuperset(of: ["server-time", "echo-message", "message-tags", "batch"]), "\(capabilities)")

        try await alice.send("PRIVMSG #test :aria: hello")
        _ = try await alice.waitFor("aria's reply") { $0.hasPrefix(":aria!") && $0.hasSuffix("PRIVMSG #test :Hello alice, aria is here.") }
        let key = ChannelKey(platform: "irc", channelID: "#test")
        try await eventually("history holds both lines") {
            ((try? await bridge.store.recentMessages(in: key, limit: 10, after: nil)) ?? []).count >= 2
        }
        // The echo of our reply reaches the bot before alice's later checkpoint line does: once that is handled, the
        // echo has been too, and would have (wrongly) triggered by then.
        try await bridge.waitIdle(after: alice)
        #expect(model.count == 1, "the echoed reply must not be a new trigger")
        #expect(alice.lines.filter { $0.hasPrefix(":aria!") && $0.contains(" PRIVMSG #test ") }.count == 1)
        let history = try await bridge.store.recentMessages(in: key, limit: 10, after: nil).filter { !$0.text.hasPrefix("checkpoint ") }
        #expect(history.map(\.text) == ["aria: hello", "Hello alice, aria is here."])
        #expect(history.first?.speakerName == "alice")
        #expect(history.last?.personaName == "aria")
        // server-time: the human's line carries the server's timestamp (and InspIRCd's msgid is the message id).
        let first = try #require(history.first)
        let stamped = try #require(bridge.platform.serverTime(ofMessage: first.messageID), "no server-time for \(first.messageID)")
        #expect(abs(stamped.secondsSince1970 - Date().timeIntervalSince1970) < 120)
        #expect(abs(first.timestamp.timeIntervalSince1970 - stamped.secondsSince1970) < 0.002,
                "history is stamped with the server's time")
        #expect(!first.messageID.hasPrefix("irc-"), "InspIRCd's msgid tag is used as the message id")
        await bridge.stop()
        await alice.close()
    }

    @Test func replayedHistoryIsNotATrigger() async throws {
        let server = try await Inspircd.start()
        defer { server.stop() }
        let alice = try await IRCHuman.connect(port: server.port, nick: "alice")
        try await alice.join("#test")
        try await alice.send("MODE #test +H 10:1h")
        _ = try await alice.waitFor("history mode") { $0.contains(" MODE #test +H") }
        try await alice.send("PRIVMSG #test :aria: are you there? (sent before the bot joined)")
        let model = CountingModel(reply: "I am here now.")
        let bridge = try RunningBridge.start(port: server.port, model: model)
        _ = try await alice.waitFor("aria joins #test") { $0.hasPrefix(":aria!") && $0.contains(" JOIN ") }
        // The replay comes with the JOIN, before alice's checkpoint line: once that is handled, so is the replay.
        try await bridge.waitIdle(after: alice)
        #expect(model.count == 0, "the chathistory replay (old server-time, in a batch) must not trigger a reply")
        try await alice.send("PRIVMSG #test :aria: hello")
        _ = try await alice.waitFor("aria's reply") { $0.hasPrefix(":aria!") && $0.hasSuffix("PRIVMSG #test :I am here now.") }
        #expect(model.count == 1)
        #expect(model.lastUserText?.contains("hello") == true)
        await bridge.stop()
        await alice.close()
    }

    @Test func operatorCanSetPersonaNonOperatorIsRefused() async throws {
        let server = try await Inspircd.start()
        defer { server.stop() }
        let alice = try await IRCHuman.connect(port: server.port, nick: "alice")
        try await alice.join("#test")  // creator: +o
        let bob = try await IRCHuman.connect(port: server.port, nick: "bob")
        try await bob.join("#test")
        let personas = [Persona(name: "aria", displayName: "Aria", character: "You are Aria."),
                        Persona(name: "rook", displayName: "Rook", character: "You are Rook.")]
        let bridge = try RunningBridge.start(port: server.port, model: CountingModel(reply: "unused"), personas: personas)
        _ = try await alice.waitFor("aria joins #test") { $0.hasPrefix(":aria!") && $0.contains(" JOIN ") }
        try await expectPersonaSetRefused(for: bob, thenAllowedFor: alice, in: bridge)
        await bridge.stop()
        await alice.close()
        await bob.close()
    }

    @Test func typingNoticeReachesATaggedClient() async throws {
        let server = try await Inspircd.start()
        defer { server.stop() }
        let carol = try await IRCHuman.connect(port: server.port, nick: "carol", capabilities: ["message-tags"])
        try await carol.join("#test")
        let platform = IRCPlatform(configuration: botConfiguration(port: server.port, channels: ["#test"]),
                                   logger: Logger(label: "test.irc"))
        let task = runPlatform(platform)
        let join = try await carol.waitFor("aria joins #test") { $0.contains(":aria!") && $0.contains(" JOIN ") }
        // BOT=B in ISUPPORT: the bot set user mode +B before joining, so InspIRCd tags its lines as from a bot.
        let tags = join.hasPrefix("@") ? join.dropFirst().prefix { $0 != " " }.split(separator: ";").map(String.init) : []
        #expect(tags.contains("bot"), "\(join)")
        await platform.typing(in: platform.channel("#test"))
        let line = try await carol.waitFor("typing TAGMSG") { $0.contains(":aria!") && $0.contains(" TAGMSG ") && $0.hasSuffix("#test") }
        #expect(line.hasPrefix("@") && line.contains("+typing=active"), "\(line)")
        task.cancel()
        await task.value
        await carol.close()
    }
}

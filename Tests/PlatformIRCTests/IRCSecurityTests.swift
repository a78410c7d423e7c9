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

/// A model whose reply is computed from the request, counting requests.
final class ScriptedModel: ChatModel, Sendable {
    private let requests = Mutex<[ChatRequest]>([])
    private let answer: @Sendable (ChatRequest) -> String

    init(_ answer: @escaping @Sendable (ChatRequest) -> String) { self.answer = answer }

    var count: Int { requests.withLock { $0.count } }

    func stream(_ request: ChatRequest) -> AsyncThrowingStream<ModelEvent, Error> {
        requests.withLock { $0.append(request) }
        let text = answer(request)
        return AsyncThrowingStream { continuation in
            continuation.yield(.delta(text))
            continuation.yield(.finish(.stop))
            continuation.finish()
        }
    }
}

/// One bridge (IRC adapter + Router) with its own nick, persona and trigger settings.
struct TriggeredBridge {
    let platform: IRCPlatform
    let router: Router
    let task: Task<Void, Never>

    static func start(port: Int, nick: String, persona: Persona, model: any ChatModel, trigger: TriggerSettings,
                      configure: (inout IRCPlatformConfiguration) -> Void = { _ in }) throws -> TriggeredBridge {
        var configuration = botConfiguration(port: port, channels: ["#test"])
        configuration.nick = nick
        configure(&configuration)
        let platform = IRCPlatform(configuration: configuration, logger: Logger(label: "test.irc.\(nick)"))
        let router = Router(
            configuration: RouterConfiguration(personas: [persona],
                                               bindings: [.init(platform: "irc", channelID: "#test", personas: [persona.name])],
                                               trigger: trigger),
            model: model, store: try SQLiteStore.inMemory(), platforms: [platform], clock: ContinuousClock(),
            logger: Logger(label: "test.router.\(nick)"))
        let task = Task {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { try? await platform.run() }
                group.addTask { try? await router.run() }
            }
        }
        return TriggeredBridge(platform: platform, router: router, task: task)
    }

    func stop() async {
        task.cancel()
        await task.value
    }
}

/// Attacks through IRC: impostor nicks, model text that frames CTCP or drops the persona prefix, NOTICE and CTCP
/// floods, and two bridges talking each other into a loop — each against a real InspIRCd.
@Suite(.serialized) struct IRCSecurityTests {
    /// Point 1: the admin's nick is free after a QUIT; taking it without logging in gains nothing.
    @Test func impostorTakingAQuitAdminsNickCannotSetPersona() async throws {
        let server = try await Inspircd.start(services: true)
        defer { server.stop() }
        let alice = try await IRCHuman.connect(port: server.port, nick: "alice")
        try await alice.join("#test")  // creator: +o, so nobody else is an operator
        let dave = try await IRCInspircdServicesTests.register("dave", password: "dave-pw", port: server.port)
        try await dave.join("#test")
        let personas = [Persona(name: "aria", displayName: "Aria", character: "You are Aria."),
                        Persona(name: "rook", displayName: "Rook", character: "You are Rook.")]
        let bridge = try RunningBridge.start(port: server.port, model: CountingModel(reply: "unused"), personas: personas) {
            $0.adminAccounts = ["dave"]
        }
        _ = try await alice.waitFor("aria joins #test") { $0.hasPrefix(":aria!") && $0.contains(" JOIN ") }
        // The real admin speaks while logged in: the old adapter remembered nick → account from this line.
        try await dave.send("PRIVMSG #test :hello everyone")
        let key = ChannelKey(platform: "irc", channelID: "#test")
        try await eventually("dave's line is recorded") {
            ((try? await bridge.store.recentMessages(in: key, limit: 10, after: nil)) ?? []).contains { $0.text == "hello everyone" }
        }
        try await dave.send("QUIT :bye")
        _ = try await alice.waitFor("dave quits") { $0.hasPrefix(":dave!") && $0.contains(" QUIT ") }
        await dave.close()

        let impostor = try await IRCHuman.connect(port: server.port, nick: "dave")
        try await impostor.join("#test")
        try await impostor.send("PRIVMSG #test :!pb persona set rook")
        _ = try await impostor.waitFor("refusal") { $0.hasPrefix(":aria!") && $0.contains("only moderators or bridge admins") }
        #expect(try await bridge.store.channelSettings(for: key)?.personas != ["rook"], "the impostor changed the persona")
        await bridge.stop()
        await alice.close()
        await impostor.close()
    }

    /// Point 6: model text with `\r` line breaks and raw `\x01` cannot drop the persona prefix or frame CTCP.
    @Test func modelTextCannotSmuggleCTCPOrDropThePersonaPrefix() async throws {
        let server = try await Inspircd.start()
        defer { server.stop() }
        let alice = try await IRCHuman.connect(port: server.port, nick: "alice")
        try await alice.join("#test")
        let rook = Persona(name: "rook", displayName: "Rook", character: "You are Rook.")
        let model = CountingModel(reply: "first line\rsecond \u{01}DCC SEND evil 2130706433 6667 1\u{01} line\n\u{01}VERSION\u{01}")
        let bridge = try RunningBridge.start(port: server.port, model: model, personas: [rook], bound: ["rook"])
        _ = try await alice.waitFor("aria joins #test") { $0.hasPrefix(":aria!") && $0.contains(" JOIN ") }
        try await alice.send("PRIVMSG #test :rook, speak")
        _ = try await alice.waitFor("the second line") { $0.hasPrefix(":aria!") && $0.contains("second") }
        try await bridge.waitIdle(after: alice)
        let said = alice.lines.filter { $0.hasPrefix(":aria!") && $0.contains(" PRIVMSG #test ") }
        #expect(said.count >= 2, "\(said)")
        for line in said {
            #expect(!line.contains("\u{01}"), "CTCP framing reached the channel: \(line)")
            #expect(line.contains("PRIVMSG #test :Rook: "), "a line went out without the persona prefix: \(line)")
        }
        await bridge.stop()
        await alice.close()
    }

    /// Point 6: a NOTICE is never answered, and a CTCP flood gets one reply per source, through the flood queue.
    @Test func noticeIsNeverAnsweredAndCTCPFloodGetsOneReply() async throws {
        let server = try await Inspircd.start()
        defer { server.stop() }
        let alice = try await IRCHuman.connect(port: server.port, nick: "alice")
        try await alice.join("#test")
        let model = CountingModel(reply: "Hello.")
        let bridge = try RunningBridge.start(port: server.port, model: model)
        _ = try await alice.waitFor("aria joins #test") { $0.hasPrefix(":aria!") && $0.contains(" JOIN ") }
        try await alice.send("NOTICE #test :aria: are you there?")
        for _ in 0..<10 { try await alice.send("PRIVMSG aria :\u{01}VERSION\u{01}") }
        _ = try await alice.waitFor("one VERSION reply") { $0.hasPrefix(":aria!") && $0.contains("NOTICE alice :\u{01}VERSION") }
        // Then a PRIVMSG: once it is answered, the NOTICE and the CTCP flood (sent earlier) have all been handled.
        try await alice.send("PRIVMSG #test :aria: hello")
        _ = try await alice.waitFor("the reply") { $0.hasPrefix(":aria!") && $0.hasSuffix("PRIVMSG #test :Hello.") }
        try await bridge.waitIdle(after: alice)
        #expect(model.count == 1, "the NOTICE must not be answered")
        let versions = alice.lines.filter { $0.hasPrefix(":aria!") && $0.contains("\u{01}VERSION") }
        #expect(versions.count == 1, "\(versions.count) CTCP replies to one source within the interval")
        await bridge.stop()
        await alice.close()
    }

    /// Point 7: two bridges whose personas name each other stop after `max_bot_turns`, even though every
    /// message addresses the other persona. InspIRCd tags both as bots (BOT=B, user mode +B, `bot` tag).
    @Test func twoBridgesNamingEachOtherStopAtMaxBotTurns() async throws {
        let server = try await Inspircd.start()
        defer { server.stop() }
        let alice = try await IRCHuman.connect(port: server.port, nick: "alice")
        try await alice.join("#test")
        let trigger = TriggerSettings(mode: .mentionOnly, cooldownSeconds: 0, maxBotTurns: 2, respondToBots: true)
        let ariaModel = ScriptedModel { _ in "Rook, what do you think?" }
        let rookModel = ScriptedModel { _ in "Aria, I think you should ask again." }
        let aria = try TriggeredBridge.start(port: server.port, nick: "aria",
                                             persona: Persona(name: "aria", displayName: "Aria", character: "You are Aria."),
                                             model: ariaModel, trigger: trigger)
        let rook = try TriggeredBridge.start(port: server.port, nick: "rook",
                                             persona: Persona(name: "rook", displayName: "Rook", character: "You are Rook."),
                                             model: rookModel, trigger: trigger)
        _ = try await alice.waitFor("aria joins") { $0.hasPrefix(":aria!") && $0.contains(" JOIN ") }
        _ = try await alice.waitFor("rook joins") { $0.hasPrefix(":rook!") && $0.contains(" JOIN ") }
        // Only aria is addressed; everything after is the two bots talking.
        try await alice.send("PRIVMSG #test :Aria, start a conversation with your friend")
        _ = try await alice.waitFor("rook answers aria") { $0.hasPrefix(":rook!") && $0.contains("Aria, I think") }
        // The recorded event: neither bot has a reply running; a round takes a few milliseconds here, so if the cap
        // did not hold, dozens of rounds would show within one short settle.
        try await eventually("both bots idle") {
            let ariaIdle = await aria.router.replies.isIdle
            let rookIdle = await rook.router.replies.isIdle
            return ariaIdle && rookIdle
        }
        try await settle(.milliseconds(500))
        let replies = ariaModel.count + rookModel.count
        #expect(replies <= trigger.maxBotTurns + 1, "\(replies) replies between two bots (aria \(ariaModel.count), rook \(rookModel.count))")
        await aria.stop()
        await rook.stop()
        await alice.close()
    }

    /// Point 7: a bot (here listed in `bots`) cannot run commands, even as a configured admin nick.
    @Test func botListedInConfigCannotRunCommands() async throws {
        let server = try await Inspircd.start()
        defer { server.stop() }
        let relay = try await IRCHuman.connect(port: server.port, nick: "relay")
        try await relay.join("#test")  // creator: +o, a channel operator
        let personas = [Persona(name: "aria", displayName: "Aria", character: "You are Aria."),
                        Persona(name: "rook", displayName: "Rook", character: "You are Rook.")]
        let bridge = try RunningBridge.start(port: server.port, model: CountingModel(reply: "Hi."), personas: personas) {
            $0.bots = ["relay"]
        }
        _ = try await relay.waitFor("aria joins #test") { $0.hasPrefix(":aria!") && $0.contains(" JOIN ") }
        let alice = try await IRCHuman.connect(port: server.port, nick: "alice")
        try await alice.join("#test")
        try await relay.send("PRIVMSG #test :!pb persona set rook")
        try await relay.send("PRIVMSG #test :!pb help")
        // Alice's line comes after the relay's in the same channel: once it is answered, theirs were handled.
        try await alice.send("PRIVMSG #test :aria: hello")
        _ = try await alice.waitFor("the reply to alice") { $0.hasPrefix(":aria!") && $0.hasSuffix("PRIVMSG #test :Hi.") }
        // The relay reads the channel on its own connection: alice seeing the reply first does not mean it has.
        _ = try await relay.waitFor("the reply to alice, as the relay sees it") {
            $0.hasPrefix(":aria!") && $0.hasSuffix("PRIVMSG #test :Hi.")
        }
        let key = ChannelKey(platform: "irc", channelID: "#test")
        #expect(try await bridge.store.channelSettings(for: key)?.personas != ["rook"])
        let answers = relay.lines.filter { $0.hasPrefix(":aria!") && $0.contains(" PRIVMSG #test ") }
        #expect(answers.count == 1 && answers.allSatisfy { $0.hasSuffix(":Hi.") }, "a bot's command was answered: \(answers)")
        await bridge.stop()
        await relay.close()
        await alice.close()
    }
}

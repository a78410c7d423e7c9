import BridgeConfig
@testable import BridgeCore
import Foundation
import Logging
import ModelClient
import PBTestSupport
import ServiceLifecycle
import Storage
import Synchronization
import Testing

/// A platform whose sends wait until the test opens its gate: a slow platform, without wall-clock timing.
final class GatedPlatform: ChatPlatform, Sendable {
    let base: InMemoryPlatform
    private let gate = Mutex<(open: Bool, waiting: [CheckedContinuation<Void, Never>])>((false, []))

    init(_ base: InMemoryPlatform) { self.base = base }

    /// Lets every held and later send through.
    func open() {
        let waiting = gate.withLock { g in
            g.open = true
            defer { g.waiting.removeAll() }
            return g.waiting
        }
        for continuation in waiting { continuation.resume() }
    }

    /// Sends waiting at the gate.
    var held: Int { gate.withLock { $0.waiting.count } }

    var platformName: String { base.platformName }
    var capabilities: PlatformCapabilities { base.capabilities }
    var editBudgets: EditBudgetBoard { base.editBudgets }
    var events: BoundedEventQueue<PlatformEvent> { base.events }
    func handled(_ event: PlatformEvent) async { await base.handled(event) }
    func run() async throws { try await base.run() }

    func send(_ text: String, in channel: ChannelRef, replyTo: String?, as identity: PersonaIdentity?) async throws -> SentMessageRef {
        await withCheckedContinuation { continuation in
            let open = gate.withLock { g in
                if !g.open { g.waiting.append(continuation) }
                return g.open
            }
            if open { continuation.resume() }
        }
        return try await base.send(text, in: channel, replyTo: replyTo, as: identity)
    }

    func edit(_ message: SentMessageRef, text: String) async throws { try await base.edit(message, text: text) }
    func typing(in channel: ChannelRef) async { await base.typing(in: channel) }
    func isModerator(_ user: ChatUser, in channel: ChannelRef) async -> Bool { await base.isModerator(user, in: channel) }
    func download(_ attachment: ChatAttachment, maxBytes: Int) async throws -> [UInt8] { [] }
    func allowsMatureContent(in channel: ChannelRef) async -> Bool { false }
}

/// Two in-memory platforms, "discord" (edits) and "irc" (lines), with one channel each linked into scene "harbour".
struct LinkedHarness {
    static let aria = Persona(name: "aria", displayName: "Aria", character: "You are Aria.")
    static let bolt = Persona(name: "bolt", displayName: "Bolt", character: "You are Bolt.")
    static let sceneKey = ChannelKey(platform: "scene", channelID: "harbour")

    let discord: InMemoryPlatform
    let irc: InMemoryPlatform
    let gated: GatedPlatform?
    let store: SQLiteStore
    let router: Router
    let model: FakeModel
    let task: Task<Void, Never>
    let discordChannel: ChannelRef
    let ircChannel: ChannelRef
    /// A channel of the same platform outside the scene.
    let loneChannel: ChannelRef

    init(model: FakeModel = .echo(), relayHumans: Bool = false, slowIRC: Bool = false) throws {
        let discord = InMemoryPlatform(name: "discord", capabilities: .init(canEdit: true, maxLength: 2000))
        let irc = InMemoryPlatform(name: "irc", capabilities: .init(canEdit: false, maxLength: 400))
        discord.setModerators(["d-mod"])
        irc.setModerators(["i-mod"])
        let gated = slowIRC ? GatedPlatform(irc) : nil
        var configuration = RouterConfiguration(
            personas: [Self.aria, Self.bolt],
            bindings: [.init(platform: "discord", channelID: "1001", personas: ["aria"], trigger: .init(mode: .mentionOnly, cooldownSeconds: 0)),
                       .init(platform: "irc", channelID: "#harbour", personas: ["aria"], trigger: .init(mode: .mentionOnly, cooldownSeconds: 0)),
                       .init(platform: "discord", channelID: "2002", personas: ["aria"], trigger: .init(mode: .mentionOnly, cooldownSeconds: 0))])
        configuration.linkedScenes = [.init(name: "harbour", channels: [
            ChannelRef(platform: "discord", channelID: "1001", serverID: "g1"), ChannelRef(platform: "irc", channelID: "#harbour"),
        ], relayHumans: relayHumans)]
        configuration.linkRetryDelay = .zero
        let store = try SQLiteStore.inMemory()
        let platforms: [any ChatPlatform] = [discord, gated ?? irc]
        let router = Router(configuration: configuration, model: model, store: store, platforms: platforms,
                            clock: ContinuousClock(), logger: Logger(label: "linked-test"))
        self.discord = discord
        self.irc = irc
        self.gated = gated
        self.store = store
        self.router = router
        self.model = model
        discordChannel = discord.channel("1001", server: "g1", name: "harbour", serverName: "Port")
        ircChannel = irc.channel("#harbour", server: "libera", name: "#harbour")
        loneChannel = discord.channel("2002", server: "g1", name: "elsewhere")
        task = Task {
            await withTaskGroup(of: Void.self) { group in
                for platform in platforms { group.addTask { try? await platform.run() } }
                group.addTask { try? await router.run() }
            }
        }
    }

    func stop() async {
        discord.stop()
        irc.stop()
        await task.value
    }

    /// Waits until `id` was handled on `platform` and no reply runs.
    func waitHandled(_ id: String, on platform: InMemoryPlatform) async throws {
        let router = self.router
        try await eventually("message \(id) handled") {
            guard platform.handled(messageID: id) else { return false }
            return await router.replies.isIdle
        }
    }

    @discardableResult
    func say(_ text: String, by user: ChatUser, on platform: InMemoryPlatform, mentionsUs: Bool = false) async throws -> String {
        let id = platform.post(text, by: user, in: platform === discord ? discordChannel : ircChannel, mentionsUs: mentionsUs)
        try await waitHandled(id, on: platform)
        return id
    }

    /// Texts the bridge sent on a platform, with edits applied.
    static func texts(_ platform: InMemoryPlatform) -> [String] { platform.sentMessages.map(\.text) }
}

@Suite struct RouterLinkedSceneTests {
    let alice = ChatUser(id: "u-alice", displayName: "Alice")
    let ircBob = ChatUser(id: "bob", displayName: "bob", stableID: "host:bob@example")

    @Test func messagesOnEitherChannelLandInOneHistoryInOrderWithSpeakerNames() async throws {
        let h = try LinkedHarness()
        try await h.say("The tide is in.", by: alice, on: h.discord)
        try await h.say("Aria, what do you see?", by: ircBob, on: h.irc, mentionsUs: true)
        await h.stop()
        let request = try #require(h.model.requests.last)
        let tail = request.messages.suffix(2).map { "\($0.name ?? "-"): \($0.content)" }
        #expect(tail == ["Alice: The tide is in.", "bob: Aria, what do you see?"])
        let history = try await h.store.recentMessages(in: LinkedHarness.sceneKey, limit: 10)
        #expect(history.map(\.speakerName) == ["Alice", "bob", "Aria"])
        #expect(history.last?.text == "Re bob: Aria, what do you see?")
        // Nothing is kept under the platforms' own channel keys.
        let own = try await h.store.recentMessages(in: ChannelKey(platform: "discord", serverID: "g1", channelID: "1001"), limit: 10)
        #expect(own.isEmpty)
    }

    @Test func aReplyGoesToEveryLinkedChannelAndIsStoredOnce() async throws {
        let h = try LinkedHarness()
        let id = try await h.say("Aria, hello!", by: ircBob, on: h.irc, mentionsUs: true)
        await h.stop()
        #expect(LinkedHarness.texts(h.irc) == ["Re bob: Aria, hello!"])
        #expect(LinkedHarness.texts(h.discord) == ["Re bob: Aria, hello!"])
        // The trigger's platform answers it as a reply; the other channel gets a plain message, under the persona.
        let sends = (h.irc.operations + h.discord.operations).compactMap { op -> (String?, String?)? in
            if case .send(_, _, _, let replyTo, let identity) = op { return (replyTo, identity?.name) }
            return nil
        }
        #expect(sends.map(\.0) == [id, nil])
        #expect(sends.map(\.1) == ["aria", "aria"])
        let history = try await h.store.recentMessages(in: LinkedHarness.sceneKey, limit: 10)
        #expect(history.filter { $0.kind == .persona }.count == 1)
        #expect(h.model.requests.count == 1)
    }

    @Test func aSlowPlatformDoesNotDelayAnother() async throws {
        let h = try LinkedHarness(slowIRC: true)
        let gated = try #require(h.gated)
        let id = h.discord.post("Aria, tell me a story.", by: alice, in: h.discordChannel, mentionsUs: true)
        let discord = h.discord
        // Discord has the whole reply while IRC's first line is still held at its gate.
        try await eventually("the Discord copy complete") { LinkedHarness.texts(discord) == ["Re Alice: Aria, tell me a story."] }
        try await eventually("IRC's send held") { gated.held == 1 }
        #expect(LinkedHarness.texts(h.irc).isEmpty)
        #expect(await !h.router.replies.isIdle, "the reply is finished only once every platform has it")
        gated.open()
        try await h.waitHandled(id, on: h.discord)
        await h.stop()
        #expect(LinkedHarness.texts(h.irc) == ["Re Alice: Aria, tell me a story."])
    }

    @Test func aFailedPlatformIsRetriedWithTheWholeText() async throws {
        let h = try LinkedHarness()
        h.irc.failNextSends(1)
        try await h.say("Aria, are you there?", by: alice, on: h.discord, mentionsUs: true)
        await h.stop()
        #expect(LinkedHarness.texts(h.irc).last == "Re Alice: Aria, are you there?")
        #expect(LinkedHarness.texts(h.discord) == ["Re Alice: Aria, are you there?"])
    }

    @Test func theTriggersOwnPlatformIsRetriedWhenNothingReachedIt() async throws {
        let h = try LinkedHarness()
        // The reply and its failure notice both fail on Discord; the retry gets through.
        h.discord.failNextSends(2)
        let id = try await h.say("Aria, are you there?", by: alice, on: h.discord, mentionsUs: true)
        await h.stop()
        #expect(LinkedHarness.texts(h.discord) == ["Re Alice: Aria, are you there?"])
        #expect(LinkedHarness.texts(h.irc) == ["Re Alice: Aria, are you there?"])
        let replyTo = h.discord.operations.compactMap { op -> String?? in
            if case .send(_, _, _, let replyTo, _) = op { return replyTo }
            return nil
        }
        #expect(replyTo == [id])
        // Stored once, under the message that reached Discord.
        let history = try await h.store.recentMessages(in: LinkedHarness.sceneKey, limit: 10)
        let reply = try #require(history.last)
        #expect(history.filter { $0.kind == .persona }.count == 1)
        #expect(reply.messageID == h.discord.sentMessages.first?.id && reply.text == "Re Alice: Aria, are you there?")
    }

    @Test func aPlatformThatKeepsFailingIsReportedOnceWhereTheTriggerWas() async throws {
        let h = try LinkedHarness()
        h.irc.failNextSends(100)
        let id = try await h.say("Aria, are you there?", by: alice, on: h.discord, mentionsUs: true)
        await h.stop()
        #expect(LinkedHarness.texts(h.irc).isEmpty)
        #expect(LinkedHarness.texts(h.discord) == ["Re Alice: Aria, are you there?", "(this reply did not reach irc #harbour)"])
        let notice = h.discord.operations.compactMap { op -> String?? in
            if case .send(_, _, let text, let replyTo, _) = op, text.hasPrefix("(this reply") { return replyTo }
            return nil
        }
        #expect(notice == [id])
        // The reply is still stored once, as the trigger's platform has it.
        let history = try await h.store.recentMessages(in: LinkedHarness.sceneKey, limit: 10)
        #expect(history.filter { $0.kind == .persona }.map(\.text) == ["Re Alice: Aria, are you there?"])
    }

    @Test func relayedHumansCarryPlatformAndNameAndAreNeverRelayedBack() async throws {
        let h = try LinkedHarness(relayHumans: true)
        try await h.say("hi @everyone <@123>", by: alice, on: h.discord)
        try await h.say("hello\r\nthere", by: ircBob, on: h.irc)
        // The bridge's copy echoed back (Discord and Matrix deliver the bridge's own messages): not relayed or stored.
        let echo = h.discord.channel("1001", server: "g1")
        let echoID = "echo-1"
        h.discord.inject(.messageCreated(IncomingMessage(channel: echo, author: ChatUser(id: "bridge", displayName: "PB", isBot: true),
                                                         messageID: echoID, text: "[irc] <bob> hello\r\nthere", isOwnMessage: true)))
        try await h.waitHandled(echoID, on: h.discord)
        // A command is not relayed.
        try await h.say("!pb status", by: alice, on: h.discord)
        await h.stop()
        let toIRC = h.irc.operations.compactMap { op -> String? in
            if case .send(_, _, let text, _, let identity) = op, identity == nil { return text }
            return nil
        }
        #expect(toIRC == ["[discord] <Alice> hi @everyone <@123>"])
        let toDiscord = h.discord.operations.compactMap { op -> String? in
            if case .send(_, _, let text, _, _) = op, text.hasPrefix("[") { return text }
            return nil
        }
        // Each line carries the label: a line of someone's text cannot pass for another person's relayed message.
        #expect(toDiscord == ["[irc] <bob> hello\n[irc] <bob> there"])
        let history = try await h.store.recentMessages(in: LinkedHarness.sceneKey, limit: 10)
        #expect(history.map(\.speakerName) == ["Alice", "bob"])
        #expect(h.model.requests.isEmpty)
    }

    @Test func aSlowPlatformsRelayDoesNotHoldBackTheReplyElsewhere() async throws {
        let h = try LinkedHarness(relayHumans: true, slowIRC: true)
        let gated = try #require(h.gated)
        let id = h.discord.post("Aria, tell me a story.", by: alice, in: h.discordChannel, mentionsUs: true)
        let discord = h.discord
        // IRC holds the relayed line at its gate; Discord gets the whole reply all the same.
        try await eventually("the Discord reply complete", detail: { "discord \(LinkedHarness.texts(discord)) held \(gated.held) ops \(discord.operations)" }) { LinkedHarness.texts(discord) == ["Re Alice: Aria, tell me a story."] }
        #expect(gated.held >= 1)
        #expect(LinkedHarness.texts(h.irc).isEmpty)
        gated.open()
        try await h.waitHandled(id, on: h.discord)
        await h.stop()
        // Once the gate opened IRC has both, the relayed line first.
        #expect(LinkedHarness.texts(h.irc) == ["[discord] <Alice> Aria, tell me a story.", "Re Alice: Aria, tell me a story."])
    }

    @Test func peopleAreNotRelayedUnlessTheSceneAsks() async throws {
        let h = try LinkedHarness()
        try await h.say("just chatting", by: alice, on: h.discord)
        await h.stop()
        #expect(h.irc.operations.filter { if case .send = $0 { true } else { false } }.isEmpty)
    }

    @Test func aModeratorOnEitherChannelChangesTheWholeScene() async throws {
        let h = try LinkedHarness()
        let ircMod = ChatUser(id: "i-mod", displayName: "imod")
        // A moderator on Discord only is nobody on IRC.
        try await h.say("!pb persona set bolt", by: ChatUser(id: "d-mod", displayName: "dmod"), on: h.irc)
        #expect(LinkedHarness.texts(h.irc).last?.contains("moderator") == true, "\(LinkedHarness.texts(h.irc))")
        try await h.say("!pb persona set bolt", by: ircMod, on: h.irc)
        try await h.say("Hello?", by: alice, on: h.discord, mentionsUs: true)
        await h.stop()
        let stored = try await h.store.channelSettings(for: LinkedHarness.sceneKey)
        #expect(stored?.personas == ["bolt"])
        // Bolt answers on Discord (and on IRC): the setting made on IRC holds for the scene.
        let discordReplies = h.discord.operations.compactMap { op -> String? in
            if case .send(_, _, _, _, let identity?) = op { return identity.name }
            return nil
        }
        #expect(discordReplies == ["bolt"])
        #expect(h.irc.operations.contains { if case .send(_, _, "Re Alice: Hello?", _, let identity) = $0 { identity?.name == "bolt" } else { false } })
    }

    @Test func anUnlinkedChannelKeepsItsOwnHistory() async throws {
        let h = try LinkedHarness()
        let id = h.discord.post("Aria, alone here?", by: alice, in: h.loneChannel, mentionsUs: true)
        try await h.waitHandled(id, on: h.discord)
        await h.stop()
        #expect(h.irc.operations.filter { if case .send = $0 { true } else { false } }.isEmpty)
        let own = try await h.store.recentMessages(in: ChannelKey(platform: "discord", serverID: "g1", channelID: "2002"), limit: 10)
        #expect(own.map(\.speakerName) == ["Alice", "Aria"])
        #expect(try await h.store.recentMessages(in: LinkedHarness.sceneKey, limit: 10).isEmpty)
    }
}

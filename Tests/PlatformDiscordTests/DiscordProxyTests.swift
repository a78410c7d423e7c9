import BridgeCore
import Foundation
import HTTPTransport
import Logging
import ModelClient
import PBTestSupport
import Storage
import Synchronization
import Testing
@testable import PlatformDiscord

/// PluralKit and Tupperbox on Discord, against the fake Discord's proxy bot and fake PluralKit API
/// (Tests/Servers/discord_proxy.py).
@Suite(.serialized) struct DiscordProxyTests {
    static let proxyWebhook = "900000000000000777"

    /// Members of the fake proxy bot: Alice posts as Starlight with `pk:`, the moderator as Warden with `[...]`.
    static func proxyMembers(delay: Int = 80, order: String = "copy_first") -> [String: Any] {
        ["members": [["user_id": World.alice, "prefix": "pk:", "name": "Starlight", "member_id": "starl"],
                     ["user_id": World.moderator, "prefix": "[", "suffix": "]", "name": "Warden", "member_id": "wardn"]],
         "delay_ms": delay, "order": order]
    }

    /// The bridge's own messages in the general channel (not the proxy bot's webhook copies).
    static func replies(_ fake: FakeDiscord, in channel: String = World.general) async throws -> [JSON] {
        try await fake.get("messages?channel_id=\(channel)").array.filter {
            $0["author"]["id"].string == World.bot && $0["_deleted"].bool != true
        }
    }

    /// The fake proxy bot's copies, oldest first.
    static func copies(_ fake: FakeDiscord) async throws -> [JSON] {
        try await fake.get("proxy")["proxied"].array
    }

    /// A model that answers "You said: <last text>" and records each request.
    final class RecordingModel: ChatModel, Sendable {
        let requests = Mutex<[ChatRequest]>([])
        let inner: TimedModel

        init() {
            inner = TimedModel(pieces: 2, interval: .milliseconds(50)) { request in
                "You said: " + (request.messages.last?.content ?? "")
            }
        }

        func stream(_ request: ChatRequest) -> AsyncThrowingStream<ModelEvent, Error> {
            requests.withLock { $0.append(request) }
            return inner.stream(request)
        }
    }

    /// A fake Discord whose proxy bot has `members`, and a ready bridge on it over a `RecordingModel`: runs `body`,
    /// then stops the bridge (also when `body` throws) before the fake.
    static func withBridge(members: [String: Any] = DiscordProxyTests.proxyMembers(), wait: Duration = .milliseconds(1000),
                           pluralKit: String? = nil,
                           _ body: (FakeDiscord, DiscordBridge, RecordingModel) async throws -> Void) async throws {
        let fake = try await FakeDiscord.start()
        defer { fake.stop() }
        try await fake.post("proxy", members)
        let model = RecordingModel()
        let bridge = try await DiscordBridge(fake: fake, model: model, bindings: [.init(platform: "discord", channelID: World.general, personas: ["aria"])]) {
            $0.proxyWait = wait
            $0.pluralKitAPI = pluralKit ?? "http://127.0.0.1:\(fake.port)/pk"
            $0.proxyChannels = [World.general]
            $0.useWebhooks = false
        }
        do {
            try await bridge.waitReady()
            try await body(fake, bridge, model)
        } catch {
            await bridge.stop()
            throw error
        }
        await bridge.stop()
    }

    /// Idle: nothing held or being looked up, then the usual idle wait.
    static func waitIdle(_ bridge: DiscordBridge) async throws {
        try await eventually("nothing held for proxies") { bridge.platform.proxyHeldCount == 0 }
        try await bridge.waitIdle()
        try await eventually("nothing held for proxies") { bridge.platform.proxyHeldCount == 0 }
    }

    // MARK: PluralKit API client

    @Test func thePluralKitClientFindsProxiedMessagesAnswersNotProxiedAndWaitsOutA429() async throws {
        let fake = try await FakeDiscord.start()
        defer { fake.stop() }
        try await fake.post("proxy", Self.proxyMembers())
        let original = try await fake.inject("pk: hello there", mentionBot: false)
        try await eventually("the proxy bot reposted") { try await Self.copies(fake).count == 1 }
        let copy = try #require(try await Self.copies(fake).first?["id"].string)
        let base = "http://127.0.0.1:\(fake.port)/pk"
        let logger = Logger(label: "pk-test")
        let client = PluralKitClient(baseURL: base, http: fake.http, clock: ElapsedClock(ContinuousClock()), logger: logger)

        let found = try await client.message(copy)
        #expect(found.id == copy && found.original == original && found.sender == World.alice)
        #expect(found.memberName == "Starlight")
        // The original's id names the same message, from the cache.
        #expect(try await client.message(original).id == copy)
        #expect(client.stats.requests == 1)

        do {
            _ = try await client.message("123456789")
            Issue.record("an unknown message must not be found")
        } catch {
            #expect(error.code == .notProxied && error.status == 404, "\(error)")
        }

        // Two more clients at once, four requests in well under a second: the fake answers 429 with Retry-After,
        // and each client waits it out and gets its answer.
        let others = (0..<2).map { _ in
            PluralKitClient(baseURL: base, http: fake.http, clock: ElapsedClock(ContinuousClock()), logger: logger)
        }
        try await withThrowingTaskGroup(of: String.self) { group in
            for other in others {
                group.addTask { try await other.message(copy).sender }
                group.addTask { try await other.message(original).sender }
            }
            for try await sender in group { #expect(sender == World.alice) }
        }
        let limited = others.reduce(0) { $0 + $1.stats.rateLimited }
        #expect(limited >= 1, "the fake allows 2 requests per second")
        #expect(try await fake.get("proxy")["counters"]["pk_429"].int ?? 0 == limited)

        // PluralKit unreachable: a transport error, not a hang.
        let down = PluralKitClient(baseURL: "http://127.0.0.1:1", http: fake.http, clock: ElapsedClock(ContinuousClock()), logger: logger)
        do {
            _ = try await down.message(copy)
            Issue.record("an unreachable API must fail")
        } catch {
            #expect(error.code == .transport || error.code == .timedOut, "\(error)")
        }
    }

    // MARK: End to end

    @Test func aPluralKitMemberGetsExactlyOneReplyCreditedToTheMember() async throws {
        try await Self.withBridge { fake, bridge, model in
            let original = try await fake.inject("pk: <@\(World.bot)> sing us a song", mentionBot: false)
            try await eventually("a reply") { try await !Self.replies(fake).isEmpty }
            try await Self.waitIdle(bridge)
            let replies = try await Self.replies(fake)
            #expect(replies.count == 1, "exactly one reply: \(replies.map { $0["content"].string ?? "" })")
            let copy = try #require(try await Self.copies(fake).first?["id"].string)
            #expect(replies.first?["message_reference"]["message_id"].string == copy, "the reply answers the message that stays")

            // The prompt credits the member, and only the member: the deleted original is not in it.
            let request = try #require(model.requests.withLock { $0.last })
            let spoken = request.messages.filter { $0.role == .user && $0.content.contains("sing us a song") }
            #expect(spoken.count == 1 && spoken.first?.name == "Starlight", "\(spoken)")
            #expect(!request.messages.contains { $0.content.contains("pk:") }, "the original's text with its tag is not in the prompt")
            // History: credited to Starlight, spoken by Alice (budgets and players go by her).
            let stored = try await bridge.store.recentMessages(in: ChannelKey(platform: "discord", serverID: World.guild, channelID: World.general), limit: 10)
            let human = stored.filter { $0.kind == .human }
            #expect(human.map(\.messageID) == [copy], "the deleted original \(original) is not in history")
            #expect(human.first?.speakerName == "Starlight" && human.first?.speakerID == World.alice)
        }
    }

    /// A thread of a proxy channel holds messages from its first one.
    @Test func aProxyInAThreadOfAProxyChannelIsAnsweredOnce() async throws {
        try await Self.withBridge { fake, bridge, model in
            try await fake.inject("pk: <@\(World.bot)> a tale in the thread", channel: World.thread, mentionBot: false)
            try await eventually("a reply in the thread") { try await !Self.replies(fake, in: World.thread).isEmpty }
            try await Self.waitIdle(bridge)
            let replies = try await Self.replies(fake, in: World.thread)
            #expect(replies.count == 1, "\(replies.map { $0["content"].string ?? "" })")
            let copy = try #require(try await Self.copies(fake).first?["id"].string)
            #expect(replies.first?["message_reference"]["message_id"].string == copy)
            #expect(model.requests.withLock { $0.last }?.messages.contains { $0.name == "Starlight" } == true)
        }
    }

    @Test func aProxiedCommandRunsAsItsUsersAndAPlainMessageIsAnsweredOnceAfterTheWait() async throws {
        try await Self.withBridge(members: Self.proxyMembers(order: "delete_first")) { fake, bridge, _ in
            // The moderator's member sets the persona: the moderator's rights apply.
            try await fake.inject("[!pb persona set bolt]", author: World.moderator, mentionBot: false)
            try await eventually("the command's answer") {
                try await Self.replies(fake).contains { $0["content"].string?.contains("Bolt now answers here") == true }
            }
            // Alice's member may not.
            try await fake.inject("pk: !pb persona set aria", mentionBot: false)
            try await eventually("the refusal") {
                try await Self.replies(fake).contains { $0["content"].string?.contains("only moderators") == true }
            }
            try await Self.waitIdle(bridge)
            #expect(try await Self.replies(fake).count == 2, "one answer per command")

            // Bob posts without a proxy: answered once, after the wait.
            let plain = try await fake.inject("no proxy here, Bolt?", author: World.bob)
            try await eventually("the plain message's reply") {
                try await Self.replies(fake).contains { $0["message_reference"]["message_id"].string == plain }
            }
            try await Self.waitIdle(bridge)
            #expect(try await Self.replies(fake).filter { $0["message_reference"]["message_id"].string == plain }.count == 1)
            #expect(try await Self.replies(fake).count == 3)
        }
    }

    /// The copy comes after the wait (the proxy deleted first, then was slow): PluralKit names the sender, or, when
    /// PluralKit is down, content and time match the copy to the deleted original. One reply, credited, either way.
    @Test(arguments: [true, false])
    func aLateCopyIsIdentifiedByPluralKitOrByContentAndTime(pluralKitUp: Bool) async throws {
        try await Self.withBridge(members: Self.proxyMembers(delay: 50, order: "delete_first"), wait: .milliseconds(300),
                                  pluralKit: pluralKitUp ? nil : "http://127.0.0.1:1") { fake, bridge, model in
            // Deleted at once; the copy comes well after the 300 ms wait.
            try await fake.post("proxy", ["copy_delay_ms": 1500])
            try await fake.inject("pk: <@\(World.bot)> are you there?", mentionBot: false)
            try await eventually("the proxy bot reposted") { try await Self.copies(fake).count == 1 }
            try await eventually("a reply") { try await !Self.replies(fake).isEmpty }
            try await Self.waitIdle(bridge)
            let replies = try await Self.replies(fake)
            #expect(replies.count == 1, "\(replies.map { $0["content"].string ?? "" })")
            let copy = try #require(try await Self.copies(fake).first?["id"].string)
            #expect(replies.first?["message_reference"]["message_id"].string == copy)
            let request = try #require(model.requests.withLock { $0.last })
            #expect(request.messages.contains { $0.role == .user && $0.name == "Starlight" && $0.content.contains("are you there?") },
                    "\(request.messages)")
            let asked = try await fake.get("proxy")["counters"]["pk_200"].int ?? 0
            #expect(pluralKitUp ? asked >= 1 : asked == 0)
        }
    }
}

import BridgeConfig
@testable import BridgeCore
import Foundation
import Logging
import ModelClient
import PBTestSupport
import ServiceLifecycle
import Storage
import Testing

/// An in-process `ChatModel` that answers from a script and records every request.
class FakeModel: ChatModel, @unchecked Sendable {
    // Safe: `requests` is only touched under `lock`; `script` is immutable. Not final: a gated variant waits
    // before replying (RouterControlsTests).
    enum Step: Sendable { case delta(String), finish(FinishReason), usage(Int), fail(ModelError.Code) }
    private let lock = NSLock()
    private var _requests: [ChatRequest] = []
    private let script: @Sendable (ChatRequest) -> [Step]

    init(script: @escaping @Sendable (ChatRequest) -> [Step]) { self.script = script }

    /// Replies "Re NAME: TEXT" to the last message, in three deltas.
    static func echo() -> FakeModel {
        FakeModel { request in
            let last = request.messages.last!
            let text = "Re \(last.name ?? "?"): \(last.content)"
            let third = text.count / 3
            return [.delta(String(text.prefix(third))), .delta(String(text.dropFirst(third).prefix(third))),
                    .delta(String(text.dropFirst(2 * third))), .finish(.stop), .usage(100)]
        }
    }

    var requests: [ChatRequest] { lock.withLock { _requests } }

    func stream(_ request: ChatRequest) -> AsyncThrowingStream<ModelEvent, Error> {
        lock.withLock { _requests.append(request) }
        let steps = script(request)
        return AsyncThrowingStream { continuation in
            var partial = ""
            for step in steps {
                switch step {
                case .delta(let text):
                    partial += text
                    continuation.yield(.delta(text))
                case .finish(let reason): continuation.yield(.finish(reason))
                case .usage(let n): continuation.yield(.usage(TokenUsage(promptTokens: n, completionTokens: 10)))
                case .fail(let code):
                    continuation.finish(throwing: ModelError(code: code, message: "fake failure", partialText: partial))
                    return
                }
            }
            continuation.finish()
        }
    }
}

/// A router, a store and an in-memory platform running together.
struct Harness {
    let platform: InMemoryPlatform
    let store: SQLiteStore
    let router: Router
    let task: Task<Void, Never>
    let channel: ChannelRef

    static let aria = Persona(name: "aria", displayName: "Aria", character: "You are Aria.",
                              examples: [PersonaExample(user: "Hi", ai: "Hello, traveller.")])
    static let bolt = Persona(name: "bolt", displayName: "Bolt", character: "You are Bolt, a terse robot.")

    init(store: SQLiteStore, model: FakeModel, capabilities: PlatformCapabilities = .init(canEdit: true, maxLength: 2000),
         admins: Set<String> = [], concurrentReplies: Int = 3, dumpDirectory: String? = nil) {
        let platform = InMemoryPlatform(name: "memory", capabilities: capabilities)
        var configuration = RouterConfiguration(
            personas: [Self.aria, Self.bolt],
            bindings: [.init(platform: "memory", channelID: "general", personas: ["aria"])],
            admins: admins)
        configuration.maxConcurrentReplies = concurrentReplies
        configuration.promptDumpDirectory = dumpDirectory
        let router = Router(configuration: configuration, model: model, store: store, platforms: [platform],
                            clock: ContinuousClock(), logger: Logger(label: "test"))
        self.platform = platform
        self.store = store
        self.router = router
        self.channel = platform.channel("general", server: "s1", name: "general", serverName: "Test")
        task = Task {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { try? await platform.run() }
                group.addTask { try? await router.run() }
            }
        }
    }

    /// Stops the platform and waits for the router to drain.
    func stop() async {
        platform.stop()
        await task.value
    }

    func waitForSends(_ count: Int, _ final: (@Sendable ([(id: String, text: String)]) -> Bool)? = nil) async throws {
        let platform = self.platform
        try await eventually("\(count) sent messages") {
            let sent = platform.sentMessages
            return sent.count >= count && (final?(sent) ?? true)
        }
    }
}

let alice = ChatUser(id: "u-alice", displayName: "Alice")
let bob = ChatUser(id: "u-bob", displayName: "Bob")
let cara = ChatUser(id: "u-cara", displayName: "Cara")
let moderator = ChatUser(id: "u-mod", displayName: "Mo")

func tempDatabasePath() -> String {
    FileManager.default.temporaryDirectory.appendingPathComponent("pb-core-\(UUID().uuidString).sqlite").path
}

@Suite struct RouterIntegrationTests {
    @Test func threeUserConversationAnsweredInOrder() async throws {
        let model = FakeModel.echo()
        // One reply at a time, so each later reply sees the earlier ones in its history.
        let h = Harness(store: try SQLiteStore.inMemory(), model: model, concurrentReplies: 1)
        let ids = [h.platform.post("Aria, what time is it?", by: alice, in: h.channel),
                   h.platform.post("just chatting", by: bob, in: h.channel),
                   h.platform.post("aria: and the weather?", by: bob, in: h.channel),
                   h.platform.post("Hey Aria!", by: cara, in: h.channel)]
        try await h.waitForSends(3) { $0.map(\.text).last == "Re Cara: Hey Aria!" }
        await h.stop()
        #expect(h.platform.sentMessages.map(\.text) == [
            "Re Alice: Aria, what time is it?", "Re Bob: aria: and the weather?", "Re Cara: Hey Aria!"])
        let replyTargets = h.platform.operations.compactMap { op -> String? in
            if case .send(_, _, _, let replyTo, let identity) = op, identity?.name == "aria" { return replyTo }
            return nil
        }
        #expect(replyTargets == [ids[0], ids[2], ids[3]])
        // The unanswered message is still history, and earlier replies come back as assistant turns.
        let last = try #require(model.requests.last)
        #expect(last.messages.contains(ChatMessage(role: .user, content: "just chatting", name: "Bob")))
        #expect(last.messages.contains(ChatMessage(role: .assistant, content: "Re Alice: Aria, what time is it?", name: "Aria")))
        #expect(h.platform.operations.first == .typing(h.channel))
    }

    @Test func overlappingRepliesAnswerTheirOwnTriggerInTriggerOrder() async throws {
        let model = FakeModel.echo()
        let h = Harness(store: try SQLiteStore.inMemory(), model: model)
        _ = [h.platform.post("Aria, what time is it?", by: alice, in: h.channel),
             h.platform.post("just chatting", by: bob, in: h.channel),
             h.platform.post("aria: and the weather?", by: bob, in: h.channel),
             h.platform.post("Hey Aria!", by: cara, in: h.channel)]
        let expected = ["Re Alice: Aria, what time is it?", "Re Bob: aria: and the weather?", "Re Cara: Hey Aria!"]
        // Each reply saw history only up to its own trigger, and the first messages follow the triggers.
        try await h.waitForSends(3) { $0.map(\.text) == expected }
        await h.stop()
        #expect(h.platform.sentMessages.map(\.text) == expected)
    }

    @Test func everyEventIsAcknowledgedAfterItWasHandled() async throws {
        let model = FakeModel.echo()
        let store = try SQLiteStore.inMemory()
        let h = Harness(store: store, model: model)
        let ids = [h.platform.post("Aria, hello", by: alice, in: h.channel),
                   h.platform.post("just chatting", by: bob, in: h.channel)]
        try await h.waitForSends(1)
        try await eventually("both events acknowledged") { h.platform.handledEvents.count == 2 }
        await h.stop()
        let acknowledged = h.platform.handledEvents.compactMap { event -> String? in
            if case .messageCreated(let message) = event { return message.messageID }
            return nil
        }
        // Chatter after a trigger is acknowledged while the trigger's reply still streams, so the order may differ;
        // the adapters' catch-up marks never pass an event still in flight.
        #expect(Set(acknowledged) == Set(ids) && acknowledged.count == ids.count)
        // Acknowledged means done: both are in history and the reply is recorded.
        let history = try await store.recentMessages(in: Router.key(h.channel), limit: 10)
        #expect(Set(ids).isSubset(of: Set(history.map(\.messageID))))
    }

    @Test func aClaimWhoseReplyReachedNothingIsReleasedAndAnsweredLater() async throws {
        let store = try SQLiteStore.inMemory()
        let h = Harness(store: store, model: FakeModel.echo())
        // The reply and its failure notice both fail to send: nothing reaches the platform.
        h.platform.failNextSends(2)
        let first = h.platform.post("Aria, are you there?", by: alice, in: h.channel)
        try await eventually("the failed trigger handled") { h.platform.handledEvents.count == 1 }
        #expect(h.platform.sentMessages.isEmpty)
        #expect(try await !store.isAnswered(channel: Router.key(h.channel), messageID: first),
                "the claim is given back so a restart's catch-up can answer it")
        // A reply that reaches the platform keeps its claim.
        let second = h.platform.post("Aria, now?", by: alice, in: h.channel)
        try await h.waitForSends(1)
        try await eventually("the second trigger handled") { h.platform.handledEvents.count == 2 }
        await h.stop()
        #expect(try await store.isAnswered(channel: Router.key(h.channel), messageID: second))
    }

    @Test func moderatorPersonaSetSurvivesRestart() async throws {
        let path = tempDatabasePath()
        defer { removeDatabaseFiles(atPath: path) }
        do {
            let h = Harness(store: try SQLiteStore(.file(path: path)), model: FakeModel.echo())
            h.platform.setModerators([moderator.id])
            h.platform.post("!pb persona set bolt", by: moderator, in: h.channel)
            try await h.waitForSends(1)
            await h.stop()
            #expect(h.platform.sentMessages.first?.text == "Bolt now answers here.")
            try await h.store.close()
        }
        let h = Harness(store: try SQLiteStore(.file(path: path)), model: FakeModel.echo())
        h.platform.post("hello there", by: alice, in: h.channel, mentionsUs: true)
        try await h.waitForSends(1) { $0.last?.text == "Re Alice: hello there" }
        await h.stop()
        guard case .send(_, _, _, _, let identity) = h.platform.operations.first(where: {
            if case .send = $0 { return true } else { return false }
        }) else { Issue.record("no send"); return }
        #expect(identity?.name == "bolt")
        try await h.store.close()
    }

    @Test func nonModeratorPersonaSetChangesNothing() async throws {
        let h = Harness(store: try SQLiteStore.inMemory(), model: FakeModel.echo())
        h.platform.post("!pb persona set bolt", by: alice, in: h.channel)
        try await h.waitForSends(1)
        #expect(h.platform.sentMessages.first?.text.contains("only moderators or bridge admins") == true)
        #expect(try await h.store.channelSettings(for: Router.key(h.channel)) == nil)
        h.platform.post("anyone?", by: alice, in: h.channel, mentionsUs: true)
        try await h.waitForSends(2) { $0.last?.text == "Re Alice: anyone?" }
        await h.stop()
        let identities = h.platform.operations.compactMap { op -> String? in
            if case .send(_, _, _, _, let identity) = op { return identity?.name ?? "bridge" }
            return nil
        }
        #expect(identities == ["bridge", "aria"])
    }

    @Test func adminFromConfigMayChangeSettings() async throws {
        let h = Harness(store: try SQLiteStore.inMemory(), model: FakeModel.echo(), admins: ["memory:\(alice.id)"])
        h.platform.post("!pb talkativeness 0.5", by: alice, in: h.channel)
        try await h.waitForSends(1)
        await h.stop()
        #expect(try await h.store.channelSettings(for: Router.key(h.channel))?.talkativeness == 0.5)
    }

    @Test func answeredMessageIsNotAnsweredAgainAfterRestart() async throws {
        let path = tempDatabasePath()
        defer { removeDatabaseFiles(atPath: path) }
        let message = { (channel: ChannelRef) in
            IncomingMessage(channel: channel, author: alice, messageID: "m-1", text: "Aria, once only please")
        }
        do {
            let h = Harness(store: try SQLiteStore(.file(path: path)), model: FakeModel.echo())
            h.platform.inject(.messageCreated(message(h.channel)))
            try await h.waitForSends(1) { $0.last?.text == "Re Alice: Aria, once only please" }
            await h.stop()
            try await h.store.close()
        }
        let model = FakeModel.echo()
        let h = Harness(store: try SQLiteStore(.file(path: path)), model: model)
        h.platform.inject(.messageCreated(message(h.channel)))   // replayed after a resume
        h.platform.post("Aria, and a new one", by: bob, in: h.channel)
        try await h.waitForSends(1) { $0.last?.text == "Re Bob: Aria, and a new one" }
        await h.stop()
        #expect(h.platform.sentMessages.map(\.text) == ["Re Bob: Aria, and a new one"])
        #expect(model.requests.count == 1)
        try await h.store.close()
    }

    @Test func modelErrorMidStreamLeavesPartialTextAndNotice() async throws {
        let model = FakeModel { _ in [.delta("The answer is "), .delta("forty"), .fail(.serverError)] }
        let h = Harness(store: try SQLiteStore.inMemory(), model: model)
        h.platform.post("Aria?", by: alice, in: h.channel)
        let expected = "The answer is forty\n\n(reply interrupted: the model service failed (serverError))"
        try await h.waitForSends(1) { $0.last?.text == expected }
        await h.stop()
        #expect(h.platform.sentMessages.map(\.text) == [expected])
        // The partial text (without the notice) is what history keeps.
        let stored = try await h.store.recentMessages(in: Router.key(h.channel), limit: 10)
        #expect(stored.last?.text == "The answer is forty")
    }

    @Test func cutOffReplySaysSoAndContinueExtendsIt() async throws {
        let model = FakeModel { request in
            request.messages.last?.content.hasPrefix("Continue") == true
                ? [.delta("…and that is the end."), .finish(.stop)]
                : [.delta("A very long story"), .finish(.length)]
        }
        let h = Harness(store: try SQLiteStore.inMemory(), model: model)
        h.platform.setModerators([moderator.id])
        h.platform.post("Aria, tell me a story", by: alice, in: h.channel)
        try await h.waitForSends(1) { $0.last?.text.hasSuffix("`!pb continue` to go on)") == true }
        h.platform.post("!pb continue", by: moderator, in: h.channel)
        try await h.waitForSends(2) { $0.last?.text == "…and that is the end." }
        await h.stop()
        #expect(h.platform.sentMessages.first?.text.hasPrefix("A very long story\n\n(cut off") == true)
    }

    @Test func platformWithoutEditsGetsSentences() async throws {
        let model = FakeModel { _ in [.delta("One. Tw"), .delta("o! Three\nFour"), .delta(" five"), .finish(.stop)] }
        let h = Harness(store: try SQLiteStore.inMemory(), model: model,
                        capabilities: PlatformCapabilities(canEdit: false, maxLength: 400, lengthUnit: .utf8Bytes, textFormat: .irc))
        h.platform.post("Aria?", by: alice, in: h.channel)
        try await h.waitForSends(3)
        await h.stop()
        // Each delta flushes what became complete: a sentence, or a line holding several.
        #expect(h.platform.sentMessages.map(\.text) == ["One.", "Two! Three", "Four five"])
        #expect(!h.platform.operations.contains { if case .edit = $0 { true } else { false } })
    }

    @Test func longReplyOverflowsIntoNewMessagesWithExactFinalText() async throws {
        let words = (1...120).map { "word\($0)" }
        let model = FakeModel { _ in words.map { .delta($0 + " ") } + [.finish(.stop)] }
        let h = Harness(store: try SQLiteStore.inMemory(), model: model,
                        capabilities: PlatformCapabilities(canEdit: true, maxLength: 200))
        h.platform.post("Aria, count", by: alice, in: h.channel)
        try await eventually("reply recorded") { (try? await h.store.lastReply(in: Router.key(h.channel))) != nil }
        await h.stop()
        let sent = h.platform.sentMessages.map(\.text)
        #expect(sent.count > 1)
        #expect(sent.allSatisfy { $0.count <= 200 })
        #expect(sent.joined(separator: " ") == words.joined(separator: " ") + " ")
    }
}

@Suite struct CommandTests {
    @Test func parsing() {
        #expect(BridgeCommand.parse("hello !pb", prefix: "!pb") == nil)
        #expect(BridgeCommand.parse("!pbx status", prefix: "!pb") == nil)
        #expect(BridgeCommand.parse("!pb", prefix: "!pb") == .success(.help))
        #expect(BridgeCommand.parse("!PB persona set Aria Vale", prefix: "!pb") == .success(.personaSet("Aria Vale")))
        #expect(BridgeCommand.parse("!pb forget 3", prefix: "!pb") == .success(.forget(3)))
        #expect(BridgeCommand.parse("!pb talkativeness 0.25", prefix: "!pb") == .success(.talkativeness(0.25)))
        for bad in ["!pb forget -1", "!pb forget x", "!pb talkativeness 2", "!pb persona set", "!pb persona dance", "!pb fly"] {
            guard case .failure(let error)? = BridgeCommand.parse(bad, prefix: "!pb") else {
                Issue.record("\(bad) should not parse")
                continue
            }
            #expect(!error.message.isEmpty)
        }
        #expect(BridgeCommand.status.changesState == false)
        #expect(BridgeCommand.reset.changesState == true)
    }

    @Test func regenerateReplacesTheLastReplyAndForgetNeedsAModerator() async throws {
        let counter = Counter()
        let model = FakeModel { _ in [.delta("take \(counter.next())"), .finish(.stop)] }
        let h = Harness(store: try SQLiteStore.inMemory(), model: model)
        h.platform.setModerators([moderator.id])
        h.platform.post("Aria, pick a number", by: alice, in: h.channel)
        try await h.waitForSends(1) { $0.last?.text == "take 1" }
        h.platform.post("!pb regenerate", by: moderator, in: h.channel)
        // The new reply shows its place among the alternatives (‹ 2/2 ›) once it is finished.
        try await h.waitForSends(2) { $0.last?.text == "take 2\n\n‹ 2/2 ›" }
        let key = Router.key(h.channel)
        // The reply is recorded just after its last edit: wait until the Router has handled the command.
        try await eventually("the regenerate command handled") { h.platform.handledEvents.count == 2 }
        let texts = try await h.store.recentMessages(in: key, limit: 10).map(\.text)
        #expect(texts == ["Aria, pick a number", "take 2"])
        #expect(h.platform.sentMessages.first?.text == "(replaced by a new reply)")

        h.platform.post("!pb forget 1", by: bob, in: h.channel)
        try await h.waitForSends(3)
        #expect(try await h.store.messageCount(in: key) == 2)
        h.platform.post("!pb forget 1", by: moderator, in: h.channel)
        try await h.waitForSends(4) { $0.last?.text == "Forgot the last 1 messages." }
        #expect(try await h.store.messageCount(in: key) == 1)
        h.platform.post("!pb status", by: bob, in: h.channel)
        try await h.waitForSends(5) { $0.last?.text.hasPrefix("Status — personas: aria · 1 messages stored") == true }
        await h.stop()
    }
}

final class Counter: @unchecked Sendable {
    // Safe: `value` is only touched under `lock`.
    private let lock = NSLock()
    private var value = 0
    func next() -> Int { lock.withLock { value += 1; return value } }
}

@Suite struct ServiceGroupTests {
    @Test func routerAndPlatformRunInAServiceGroupAndShutDownGracefully() async throws {
        let platform = InMemoryPlatform()
        let store = try SQLiteStore.inMemory()
        let router = Router(configuration: RouterConfiguration(personas: [Harness.aria], defaultPersonas: ["aria"]),
                            model: FakeModel.echo(), store: store, platforms: [platform], logger: Logger(label: "test"))
        let group = ServiceGroup(configuration: .init(services: [.init(service: platform), .init(service: router)],
                                                      logger: Logger(label: "test")))
        let running = Task { try await group.run() }
        let channel = platform.channel("anywhere")
        platform.post("hi aria", by: alice, in: channel)
        try await eventually("reply") { platform.sentMessages.last?.text == "Re Alice: hi aria" }
        await group.triggerGracefulShutdown()
        try await running.value
    }
}

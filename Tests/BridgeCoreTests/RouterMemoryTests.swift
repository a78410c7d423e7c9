import BridgeConfig
@testable import BridgeCore
import Foundation
import HTTPTransport
import Logging
import ModelClient
import PBTestSupport
import Storage
import Synchronization
import Testing

/// A fake model that answers chat with an echo and memory requests like a careful note-taker: a summary keeps
/// every transcript line holding a `FACT`, a fold keeps every `FACT` line of the notes it merges. Each note
/// carries filler, so notes add up and the memory must fold to stay under its cap.
final class MemoryFakeModel: ChatModel, Sendable {
    enum Kind: Sendable { case reply, summary, fold }
    struct Seen: Sendable {
        var kind: Kind
        var request: ChatRequest
    }

    private let seen = Mutex<[Seen]>([])
    /// Memory requests in flight now and at most; a class, so the streams' forwarders can share it.
    final class InFlight: Sendable {
        let counts = Mutex<(now: Int, most: Int)>((0, 0))
    }
    private let inFlight = InFlight()
    /// Summary requests to fail (with a provider 500) before answering.
    private let failures: Mutex<Int>
    /// When set, memory requests wait for it.
    let gate: AsyncGate?

    init(failingSummaries: Int = 0, gate: AsyncGate? = nil) {
        failures = Mutex(failingSummaries)
        self.gate = gate
    }

    static func kind(of request: ChatRequest) -> Kind {
        switch request.messages.last?.name {
        case "Transcript": .summary
        case "Memory": .fold
        default: .reply
        }
    }

    var requests: [Seen] { seen.withLock { $0 } }
    func requests(_ kind: Kind) -> [ChatRequest] { requests.filter { $0.kind == kind }.map(\.request) }
    /// The most memory requests that were ever in flight at once.
    var mostMemoryRequestsAtOnce: Int { inFlight.counts.withLock { $0.most } }
    var memoryRequestsInFlight: Int { inFlight.counts.withLock { $0.now } }

    static func facts(in text: String) -> [String] {
        text.components(separatedBy: "\n").filter { $0.contains("FACT") }.map { line in
            line.hasPrefix("- ") ? String(line.dropFirst(2)) : line
        }
    }

    func stream(_ request: ChatRequest) -> AsyncThrowingStream<ModelEvent, Error> {
        let kind = Self.kind(of: request)
        seen.withLock { $0.append(Seen(kind: kind, request: request)) }
        let input = request.messages.last?.content ?? ""
        let text: String
        var fail = false
        switch kind {
        case .reply:
            text = "Re: " + input.prefix(40)
        case .summary:
            fail = failures.withLock { left in
                guard left > 0 else { return false }
                left -= 1
                return true
            }
            let facts = Self.facts(in: input.components(separatedBy: "Transcript:\n").last ?? "")
            text = (facts + ["Filler: the scene went on for a while, people talked about the weather and the harbour."])
                .joined(separator: "\n")
        case .fold:
            var facts: [String] = []
            for fact in Self.facts(in: input.components(separatedBy: "Notes to merge").last ?? "") where !facts.contains(fact) {
                facts.append(fact)
            }
            text = (facts + ["Filler: folded notes."]).joined(separator: "\n")
        }
        let gate = kind == .reply ? nil : gate
        // The estimate itself as the prompt count keeps the router's token scale at 1, so spans are cut the same way
        // on every run.
        let promptTokens = TokenBudget.rawEstimate(request.messages)
        let inFlight = self.inFlight
        let failing = fail
        return AsyncThrowingStream { continuation in
            // Test-only forwarder: waits for the gate (if any), counting memory requests in flight meanwhile.
            let task = Task {
                if kind != .reply { inFlight.counts.withLock { $0.now += 1; $0.most = max($0.most, $0.now) } }
                defer { if kind != .reply { inFlight.counts.withLock { $0.now -= 1 } } }
                await gate?.wait()
                if failing {
                    continuation.finish(throwing: ModelError(code: .serverError, message: "fake provider failure"))
                    return
                }
                continuation.yield(.delta(text))
                continuation.yield(.finish(.stop))
                continuation.yield(.usage(TokenUsage(promptTokens: promptTokens, completionTokens: 20)))
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }
}

/// A router with memory settings of the test's choosing, on an in-memory platform and store.
struct MemoryHarness {
    let platform: InMemoryPlatform
    let store: SQLiteStore
    let router: Router
    let task: Task<Void, Never>
    let channel: ChannelRef
    var key: ChannelKey { Router.key(channel) }

    init(model: any ChatModel, historyLimit: Int = 500, everyTokens: Int = 8_000, maxTokens: Int = 2_000,
         retryDelay: Duration = .seconds(30), budgets: BudgetSettings = BudgetSettings(),
         logger: Logger = Logger(label: "test")) throws {
        let platform = InMemoryPlatform(name: "memory")
        var configuration = RouterConfiguration(
            personas: [Harness.aria, Harness.bolt],
            bindings: [.init(platform: "memory", channelID: "tavern", personas: ["aria"])],
            historyLimit: historyLimit)
        configuration.memory.everyTokens = everyTokens
        configuration.memory.maxTokens = maxTokens
        configuration.memoryRetryDelay = retryDelay
        configuration.budgets = budgets
        configuration.maxConcurrentReplies = 1
        let store = try SQLiteStore.inMemory()
        let router = Router(configuration: configuration, model: model, store: store, platforms: [platform],
                            clock: ContinuousClock(), logger: logger)
        self.platform = platform
        self.store = store
        self.router = router
        channel = platform.channel("tavern", server: "s1", name: "tavern", serverName: "Test")
        task = Task {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { try? await platform.run() }
                group.addTask { try? await router.run() }
            }
        }
    }

    func stop() async {
        platform.stop()
        await task.value
    }

    /// Posts `count` chatter messages of about `bytes` bytes each (nobody is addressed).
    func chatter(_ count: Int, bytes: Int = 600, from start: Int = 0) {
        let filler = String(repeating: "the rain kept falling on the old roofs of the harbour town ", count: bytes / 58 + 1)
        for index in start..<(start + count) {
            platform.post("line \(index): " + filler.prefix(bytes), by: index.isMultiple(of: 2) ? bob : cara, in: channel)
        }
    }

    /// Addresses Aria and waits for her answer.
    func ask(_ text: String, by user: ChatUser = alice) async throws {
        let before = platform.sentMessages.count
        platform.post("Aria, " + text, by: user, in: channel)
        let platform = self.platform
        try await eventually("Aria's answer to \(text)") { platform.sentMessages.count > before }
    }
}

@Suite struct RouterMemoryTests {
    /// The issue's acceptance test: the first message's facts are still in the memory block of a request made
    /// after 500 messages pushed them far out of the context window, through several summaries and folds.
    @Test func aFiveHundredMessageSceneKeepsItsFirstMessagesFactsInMemory() async throws {
        let model = MemoryFakeModel()
        let h = try MemoryHarness(model: model, maxTokens: 200)
        h.platform.setModerators([moderator.id])
        h.platform.post("FACT: the lighthouse key is hidden under the blue stone by the well", by: alice, in: h.channel)
        h.chatter(498, from: 1)
        try await h.ask("what do you see?")
        // The reply's prompt could not hold 500 messages of this size: history was dropped, and summarised.
        try await eventually("the dropped history summarised and folded") {
            let memory = try await h.store.sceneMemory(in: h.key)
            return memory.summarizedThrough > 0 && !h.router.memorySummarizer.isRunning(h.channel)
                && model.requests(.fold).count >= 1
        }
        h.platform.post("!pb memory add FACT: Bob owes Cara three silver coins", by: moderator, in: h.channel)
        try await eventually("the fact pinned") { h.platform.sentMessages.last?.text.hasPrefix("Pinned:") == true }
        try await h.ask("where is the lighthouse key?")
        await h.stop()

        let summaries = model.requests(.summary)
        #expect(summaries.count >= 3, "about 35,000 dropped tokens make several 8,000-token summaries")
        // The first summary covered the first message: nothing before it was skipped.
        #expect(summaries.first?.messages.last?.content.contains("FACT: the lighthouse key") == true)
        let last = try #require(model.requests(.reply).last)
        // The memory block sits right after the stable prefix: the system message and the example exchange.
        let prefix = 1 + 2 * Harness.aria.examples.count
        let block = last.messages[prefix]
        #expect(block.role == .system)
        #expect(block.content.hasPrefix(MemoryBlock.heading))
        #expect(block.content.contains("FACT: the lighthouse key is hidden under the blue stone by the well"))
        #expect(block.content.contains("FACT: Bob owes Cara three silver coins"), "pinned facts are in the block")
        #expect(!last.messages[(prefix + 1)...].contains { $0.content.contains("FACT: the lighthouse key") },
                "the first message itself is long out of the history window")
        let memory = try await h.store.sceneMemory(in: h.key)
        #expect(MemoryBlock.tokens(block.content, scale: 1) <= 200, "the block stays within its cap")
        #expect(memory.pinned.map(\.text) == ["FACT: Bob owes Cara three silver coins"], "pinned facts survive folds")
        // The prompt view (`why`) records the block that was sent.
        let view = try #require(try await h.router.promptView(1, in: h.channel))
        #expect(view.memory == block.content)
        // Every summary and fold counts as usage of the channel, like the replies.
        let usage = try await h.store.usageTotals(.channel(h.key), since: .distantPast)
        #expect(usage.requests == model.requests.count)
    }

    @Test func memoryGoesRightAfterTheStablePrefixAndLeavesItByteIdentical() {
        let assembler = ContextAssembler()
        let channel = ChannelRef(platform: "memory", channelID: "tavern")
        let history = (1...5).map { HistoryEntry(sequence: Int64($0), speaker: .human(id: "u", name: "Ann"), text: "hello \($0)") }
        let without = assembler.assemble(persona: Harness.aria, channel: channel, history: history)
        let with = assembler.assemble(persona: Harness.aria, channel: channel, history: history, memory: "remember the key")
        let prefix = 1 + 2 * Harness.aria.examples.count
        #expect(Array(with.messages[..<prefix]) == Array(without.messages[..<prefix]))
        #expect(with.messages[prefix] == ChatMessage(role: .system, content: "remember the key"))
        #expect(Array(with.messages[(prefix + 1)...]) == Array(without.messages[prefix...]))
        #expect(with.memory == "remember the key" && without.memory == nil)
        #expect(with.rawEstimate > without.rawEstimate, "the block counts in the budget")
    }

    @Test func oneSceneIsNeverSummarisedTwiceAtOnce() async throws {
        let gate = AsyncGate()
        let model = MemoryFakeModel(gate: gate)
        // A short window (20 messages) moves the anchor every few messages, and a small threshold makes every
        // move due for a summary: each reply asks for memory work while the first summary is still held.
        let h = try MemoryHarness(model: model, historyLimit: 20, everyTokens: 500)
        h.chatter(40, bytes: 200)
        try await h.ask("first?")
        try await eventually("the first summary request held") { model.memoryRequestsInFlight == 1 }
        for round in 0..<4 {
            h.chatter(10, bytes: 200, from: 100 + round * 10)
            try await h.ask("again \(round)?")
        }
        #expect(model.requests(.summary).count == 1, "the scene's next run waits for the one under way")
        gate.open()
        try await eventually("every due span summarised") {
            let memory = try await h.store.sceneMemory(in: h.key)
            let summaries = model.requests(.summary).count
            return summaries >= 3 && memory.summaries.count == summaries && !h.router.memorySummarizer.isRunning(h.channel)
        }
        await h.stop()
        #expect(model.mostMemoryRequestsAtOnce == 1)
        // The summaries follow each other without overlap or gap in what they cover.
        let memory = try await h.store.sceneMemory(in: h.key)
        for (earlier, later) in zip(memory.summaries, memory.summaries.dropFirst()) {
            #expect(try #require(earlier.lastMessageRowID) < (try #require(later.firstMessageRowID)))
        }
    }

    @Test func aFailingSummaryIsLoggedAndItsSpanTriedAgainWithNothingLost() async throws {
        let model = MemoryFakeModel(failingSummaries: 2)
        let logs = LogCapture()
        let h = try MemoryHarness(model: model, historyLimit: 20, everyTokens: 500, retryDelay: .milliseconds(20),
                                  logger: logs.logger(label: "test"))
        h.platform.post("FACT: the ferry leaves at dawn", by: alice, in: h.channel)
        h.chatter(39, bytes: 200, from: 1)
        try await h.ask("when does the ferry leave?")
        try await eventually("the summary stored after two failures") {
            try await h.store.sceneMemory(in: h.key).summaries.count >= 1
        }
        await h.stop()
        let summaries = model.requests(.summary)
        #expect(summaries.count >= 3)
        // The same span was asked for each time: the failures skipped nothing.
        #expect(summaries[0].messages == summaries[1].messages && summaries[1].messages == summaries[2].messages)
        let memory = try await h.store.sceneMemory(in: h.key)
        let first = try #require(memory.summaries.first)
        let firstRow = try #require(try await h.store.recentMessages(in: h.key, limit: 1_000).first?.rowID)
        #expect(first.firstMessageRowID == firstRow)
        #expect(first.text.contains("FACT: the ferry leaves at dawn"))
        #expect(logs.lines.contains { $0.contains("memory summary request failed") && $0.contains("tried again later") })
    }

    /// Through the real client and the fake M2-her server, which enforces the protocol: the summary request is a
    /// well-formed request, the server's 500 is retried with the same span, and the block reaches the next reply.
    @Test func summariesGoThroughTheFakeModelServerAndAServerErrorIsRetried() async throws {
        let (server, port) = try await startPythonServer("model_server.py")
        defer { server.stop() }
        let http = HTTPClient()
        defer { http.shutdown() }
        func control(_ path: String, _ body: [String: Any]? = nil) async throws -> Any {
            let data = try body.map { try JSONSerialization.data(withJSONObject: $0) }
            let response = try await http.execute(HTTPRequest(
                method: body == nil ? .get : .post, url: "http://127.0.0.1:\(port)/_control/\(path)",
                headers: ["Content-Type": "application/json"], body: data.map(Array.init) ?? []))
            return try JSONSerialization.jsonObject(with: Data(try await response.body.collect(upTo: 1 << 22)))
        }
        // Replies carry their own marker, so the first request without one, the summary, gets the 500; the retry
        // gets the server's echo, which repeats the transcript.
        _ = try await control("script", ["replies": [["status": 500]]])
        let h = try MemoryHarness(model: fakeModelSession(port: port, http: http), historyLimit: 20, everyTokens: 500,
                                  maxTokens: 16_000, retryDelay: .milliseconds(20))
        h.platform.post("FACT: the ferry leaves at dawn", by: alice, in: h.channel)
        h.chatter(39, bytes: 200, from: 1)
        h.platform.post(#"Aria, when? <<fake {"text": "Soon."}>>"#, by: alice, in: h.channel)
        try await eventually("the first span summarised after the 500") {
            try await h.store.sceneMemory(in: h.key).summaries.first?.text.contains("FACT: the ferry leaves at dawn") == true
        }
        let before = h.platform.sentMessages.count
        h.platform.post(#"Aria, and now? <<fake {"text": "At dawn."}>>"#, by: alice, in: h.channel)
        try await eventually("the second answer") { h.platform.sentMessages.count > before }
        await h.stop()

        let requests = try #require(try await control("requests") as? [[String: Any]])
        func messages(_ request: [String: Any]) -> [[String: Any]] {
            ((request["body"] as? [String: Any])?["messages"] as? [[String: Any]]) ?? []
        }
        let summaries = requests.filter { messages($0).last?["name"] as? String == "Transcript" }
        #expect(summaries.count >= 2)
        #expect(summaries.first?["status"] as? Int == 500)
        // The span that failed is asked for again from its first message (where it ends may move: the server's
        // token counts recalibrate the estimate in between).
        func firstLine(_ request: [String: Any]) -> String? {
            (messages(request).last?["content"] as? String)?.components(separatedBy: "Transcript:\n").last?
                .components(separatedBy: "\n").first
        }
        #expect(summaries.count >= 2 && firstLine(summaries[0]) == "Alice: FACT: the ferry leaves at dawn"
            && firstLine(summaries[1]) == firstLine(summaries[0]))
        #expect(summaries.first.map(messages)?.map { $0["role"] as? String } == ["system", "user"])
        let reply = try #require(requests.last { messages($0).last.flatMap { $0["content"] as? String }?.contains("and now?") == true })
        let block = messages(reply)[1 + 2 * Harness.aria.examples.count]
        #expect(block["role"] as? String == "system")
        #expect((block["content"] as? String)?.hasPrefix(MemoryBlock.heading) == true)
        #expect((block["content"] as? String)?.contains("FACT: the ferry leaves at dawn") == true)
    }

    @Test func aSummaryWaitsWhileTheChannelBudgetIsUsedUp() async throws {
        let model = MemoryFakeModel()
        let logs = LogCapture()
        let h = try MemoryHarness(model: model, historyLimit: 20, everyTokens: 500, retryDelay: .milliseconds(20),
                                  budgets: BudgetSettings(perChannelTokensPerDay: 1_000), logger: logs.logger(label: "test"))
        try await h.store.recordUsage(UsageRecord(requestID: "earlier", channel: h.key, userID: "u-x", promptTokens: 5_000,
                                                  createdAt: Date()))
        h.chatter(40, bytes: 200)
        h.platform.post("Aria, are you there?", by: alice, in: h.channel)
        try await eventually("the summary refused by the budget, twice") {
            logs.lines.filter { $0.contains("memory summary waits: the budget is used up") }.count >= 2
        }
        await h.stop()
        #expect(model.requests(.summary).isEmpty && model.requests(.reply).isEmpty)
        let memory = try await h.store.sceneMemory(in: h.key)
        #expect(memory.summarizedThrough == 0, "nothing is skipped while it waits")
    }

    @Test func memoryCommandsAreForModeratorsAndPinnedFactsAreKept() async throws {
        let model = MemoryFakeModel()
        let h = try MemoryHarness(model: model)
        h.platform.setModerators([moderator.id])
        func command(_ text: String, by user: ChatUser) async throws -> String {
            let before = h.platform.sentMessages.count
            h.platform.post(text, by: user, in: h.channel)
            let platform = h.platform
            return try await eventuallyValue("an answer to \(text)") {
                platform.sentMessages.count > before ? platform.sentMessages.last?.text : nil
            }
        }
        for text in ["!pb memory show", "!pb memory add the key is blue", "!pb memory forget"] {
            #expect(try await command(text, by: alice).contains("only moderators or bridge admins"), "\(text)")
        }
        #expect(try await h.store.sceneMemory(in: h.key).entries.isEmpty, "a refused command changes nothing")
        #expect(try await command("!pb memory show", by: moderator).hasPrefix("This scene has no memory yet"))
        #expect(try await command("!pb memory add The key\nis blue", by: moderator) == "Pinned: The key is blue")
        #expect(try await command("!pb memory add " + String(repeating: "x", count: 501), by: moderator)
            .contains("at most 500"))
        let shown = try await command("!pb memory show", by: moderator)
        #expect(shown.contains("1 pinned fact") && shown.contains("1. The key is blue"))
        #expect(try await command("!pb memory", by: moderator) == shown)
        #expect(try await command("!pb memory forget", by: moderator).hasPrefix("Forgot this scene's memory (1 entry)"))
        #expect(try await h.store.sceneMemory(in: h.key).entries.isEmpty)
        #expect(try await command("!pb memory dance", by: moderator).hasPrefix("Unknown memory command"))
        await h.stop()
    }

    @Test func memoryCommandsParse() {
        #expect(BridgeCommand.parse("!pb memory add The key is blue", prefix: "!pb") == .success(.memory(.add("The key is blue"))))
        #expect(BridgeCommand.parse("!pb memory show", prefix: "!pb") == .success(.memory(.show)))
        #expect(BridgeCommand.parse("!pb memory forget", prefix: "!pb") == .success(.memory(.forget)))
        #expect(BridgeCommand.memory(.show).needsModerator && !BridgeCommand.memory(.show).changesState)
        #expect(BridgeCommand.memory(.forget).needsModerator && BridgeCommand.memory(.add("x")).changesState)
        guard case .failure(let error) = BridgeCommand.parse("!pb memory add", prefix: "!pb") else {
            Issue.record("an empty fact parsed")
            return
        }
        #expect(error.message.contains("memory add TEXT"))
    }
}

import BridgeConfig
@testable import BridgeCore
import Foundation
import HTTPTransport
import Logging
import ModelClient
import PBTestSupport
import Storage
import Testing

/// Player controls through the router: swipes, stop, the prompt view, and deletes.
@Suite struct RouterControlsTests {
    @Test func regenerateTwiceFlipBackAndTheNextPromptHoldsTheFirstAlternative() async throws {
        let counter = Counter()
        let model = FakeModel { request in
            // Only replies to Alice's questions count takes; the request log shows what each prompt held.
            _ = request
            return [.delta("take \(counter.next())"), .finish(.stop), .usage(50)]
        }
        let h = Harness(store: try SQLiteStore.inMemory(), model: model)
        let key = Router.key(h.channel)
        h.platform.post("Aria, pick a number", by: alice, in: h.channel)
        try await h.waitForSends(1) { $0.last?.text == "take 1" }
        // The player who asked may regenerate (no moderator needed); Bob may not.
        h.platform.post("!pb regenerate", by: bob, in: h.channel)
        try await h.waitForSends(2) { $0.last?.text.hasPrefix("Sorry Bob, only the player who asked") == true }
        h.platform.post("!pb regenerate", by: alice, in: h.channel)
        try await h.waitForSends(3) { $0.last?.text == "take 2\n\n‹ 2/2 ›" }
        h.platform.post("!pb regenerate", by: alice, in: h.channel)
        try await h.waitForSends(4) { $0.last?.text == "take 3\n\n‹ 3/3 ›" }
        let last = try #require(try await h.store.lastReply(in: key, persona: nil))
        #expect(try await h.store.replyAlternatives(in: key, replyID: last.replyID)?.texts == ["take 1", "take 2", "take 3"])

        h.platform.post("!pb prev", by: alice, in: h.channel)
        try await h.waitForSends(4) { $0.last?.text == "take 2\n\n‹ 2/3 ›" }
        h.platform.post("!pb prev", by: alice, in: h.channel)
        try await h.waitForSends(4) { $0.last?.text == "take 1\n\n‹ 1/3 ›" }
        h.platform.post("!pb prev", by: alice, in: h.channel)
        try await h.waitForSends(5) { $0.last?.text == "That is already the first alternative." }

        // The alternative shown when the next message arrives is the one in history.
        h.platform.post("Aria, and another?", by: alice, in: h.channel)
        try await eventually("the next request") { model.requests.count == 4 }
        let contents = model.requests[3].messages.map(\.content)
        #expect(contents.contains("take 1"), "\(contents)")
        #expect(!contents.contains("take 2") && !contents.contains("take 3"), "\(contents)")
        #expect(try await h.store.recentMessages(in: key, limit: 10).map(\.text).prefix(2) == ["Aria, pick a number", "take 1"])
        await h.stop()
    }

    @Test func aDeletedReplyLeavesHistoryWithItsAlternatives() async throws {
        let counter = Counter()
        let model = FakeModel { _ in [.delta("take \(counter.next())"), .finish(.stop)] }
        let h = Harness(store: try SQLiteStore.inMemory(), model: model)
        let key = Router.key(h.channel)
        h.platform.post("Aria, pick a number", by: alice, in: h.channel)
        try await h.waitForSends(1) { $0.last?.text == "take 1" }
        h.platform.post("!pb regenerate", by: alice, in: h.channel)
        try await h.waitForSends(2) { $0.last?.text == "take 2\n\n‹ 2/2 ›" }
        try await eventually("the regenerated reply recorded") {
            try await h.store.lastReply(in: key, persona: nil)?.messageIDs == [h.platform.sentMessages[1].id]
        }
        let replyID = h.platform.sentMessages[1].id
        h.platform.inject(.messageDeleted(channel: h.channel, messageID: replyID))
        try await eventually("the reply removed") { try await h.store.reply(id: replyID) == nil }
        #expect(try await h.store.recentMessages(in: key, limit: 10).map(\.text) == ["Aria, pick a number"])
        #expect(try await h.store.replyAlternatives(in: key, replyID: replyID) == nil)
        await h.stop()
    }

    @Test func aTriggerDeletedBeforeItsReplyStartsIsNotAnswered() async throws {
        let gate = AsyncGate()
        let model = FakeModel.gated(gate)
        // One reply at a time: the second message's reply waits for the first, claimed but not started.
        let h = Harness(store: try SQLiteStore.inMemory(), model: model, concurrentReplies: 1)
        let key = Router.key(h.channel)
        h.platform.post("Aria, first", by: alice, in: h.channel)
        try await eventually("the first request") { model.requests.count == 1 }
        let second = h.platform.post("Aria, second", by: bob, in: h.channel)
        try await eventually("the second message claimed and recorded") {
            let claimed = try await h.store.isAnswered(channel: key, messageID: second)
            let recorded = try await h.store.message(in: key, messageID: second) != nil
            return claimed && recorded
        }
        // The channel's worker waits for the reply slot, so the deletion is written the way the router writes it.
        #expect(try await h.store.applyDeletion(in: key, messageID: second, deletedAt: Date()))
        gate.open()
        try await h.waitForSends(1) { $0.last?.text == "done" }
        try await eventually("no reply running") { await h.router.replies.isIdle }
        #expect(model.requests.count == 1, "the deleted message was not answered")
        #expect(h.platform.sentMessages.count == 1)
        await h.stop()
    }

    @Test func stopEndsTheReplyWithItsPartialTextAndClosesTheModelConnection() async throws {
        let (server, port) = try await startPythonServer("model_server.py")
        defer { server.stop() }
        let http = HTTPClient()
        defer { http.shutdown() }
        let client = fakeModelSession(port: port, http: http)
        let platform = InMemoryPlatform()
        let store = try SQLiteStore.inMemory()
        let router = Router(configuration: RouterConfiguration(personas: [Harness.aria], defaultPersonas: ["aria"]),
                            model: client, store: store, platforms: [platform], logger: Logger(label: "test"))
        let running = Task {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { try? await platform.run() }
                group.addTask { try? await router.run() }
            }
        }
        let channel = platform.channel("lobby")
        let tokens = (1...60).map { "w\($0) " }
        let spec = String(decoding: try JSONSerialization.data(withJSONObject: ["tokens": tokens, "token_interval": 0.25]),
                          as: UTF8.self)
        platform.post("Aria, talk a lot <<fake \(spec)>>", by: alice, in: channel)
        try await eventually("the reply streaming") { platform.sentMessages.first?.text.hasPrefix("w1 w2") == true }
        // Bob did not ask for it and is no moderator.
        platform.post("!pb stop", by: bob, in: channel)
        try await eventually("Bob refused") { platform.sentMessages.contains { $0.text.hasPrefix("Sorry Bob, only the player") } }
        platform.post("!pb stop", by: alice, in: channel)
        try await eventually("the reply stopped") { platform.sentMessages.first?.text.contains("(reply interrupted: stopped)") == true }
        let text = try #require(platform.sentMessages.first?.text)
        #expect(!text.contains("w60"), "\(text)")
        let first = try await eventuallyValue("the model server saw the connection close") { () async throws -> [String: Any]? in
            let response = try await http.execute(HTTPRequest(url: "http://127.0.0.1:\(port)/_control/requests"))
            let list = try JSONSerialization.jsonObject(with: Data(try await response.body.collect(upTo: 1 << 20))) as? [[String: Any]]
            return list?.first.flatMap { $0["client_closed"] as? Bool == true ? $0 : nil }
        }
        let sent = first["tokens_sent"] as? Int ?? 0
        #expect(sent < 60)
        // Only what was received is counted: no usage came, so the completion is estimated from the partial text.
        // The request's row is written when it is admitted (completion 0) and completed when the reply ends.
        try await eventually("the usage completed") {
            let totals = try await store.usageTotals(.channel(Router.key(channel)), since: .distantPast)
            return totals.requests == 1 && totals.completionTokens > 0
        }
        let usage = try await store.usageTotals(.channel(Router.key(channel)), since: .distantPast)
        // Each token is "wN " (3-4 bytes, about one token): the estimate stays within what was sent.
        #expect(usage.completionTokens >= 1 && usage.completionTokens <= sent, "completion \(usage.completionTokens), tokens sent \(sent)")
        platform.stop()
        await running.value
    }

    @Test func whyShowsTheStoredPromptToModeratorsOnlyAndWritesTheDumpToAFile() async throws {
        let model = FakeModel.echo()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pb-why-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let h = Harness(store: try SQLiteStore.inMemory(), model: model, capabilities: .init(canEdit: false, maxLength: 400),
                        dumpDirectory: directory)
        h.platform.setModerators([moderator.id])
        h.platform.post("Aria, hello", by: alice, in: h.channel)
        try await h.waitForSends(1) { $0.last?.text == "Re Alice: Aria, hello" }
        h.platform.post("!pb why", by: bob, in: h.channel)
        try await h.waitForSends(2) { $0.last?.text.hasPrefix("Sorry Bob, only moderators") == true }
        h.platform.post("!pb why", by: moderator, in: h.channel)
        try await h.waitForSends(3) { $0.last?.text.hasPrefix("Prompt of the last reply (aria)") == true }
        let summary = try #require(h.platform.sentMessages.last?.text)
        #expect(summary.contains("prompt 100 · completion 10 · cached 0 tokens"), "\(summary)")
        #expect(!summary.contains("You are Aria."), "the prompt itself is never pasted into the channel")
        let files = try FileManager.default.contentsOfDirectory(atPath: directory)
        #expect(files.count == 1)
        let document = try String(contentsOfFile: directory + "/" + files[0], encoding: .utf8)
        let view = try #require(PromptView.decode(document))
        let sent = try #require(model.requests.first)
        #expect(view.messages.map(\.content) == sent.messages.map(\.content))
        #expect(view.messages.map(\.role) == sent.messages.map(\.role.rawValue))
        #expect(view.messages.allSatisfy { $0.tokens > 0 })
        #expect(view.usage.promptTokens == 100 && view.usage.completionTokens == 10)
        #expect(!document.contains("test-key"))
        h.platform.post("!pb why 2", by: moderator, in: h.channel)
        try await h.waitForSends(4) { $0.last?.text.hasPrefix("Only the last 50 replies keep their prompt") == true }
        await h.stop()
    }
}

/// A gate a fake model's reply waits at.
final class AsyncGate: Sendable {
    private let stream: AsyncStream<Void>
    private let continuation: AsyncStream<Void>.Continuation
    init() { (stream, continuation) = AsyncStream.makeStream(of: Void.self) }
    func open() { continuation.finish() }
    func wait() async { for await _ in stream {} }
}

extension FakeModel {
    /// Answers "done" once `gate` opens.
    static func gated(_ gate: AsyncGate) -> FakeModel { GatedFakeModel(gate: gate) }
}

/// A fake model whose replies wait for a gate.
final class GatedFakeModel: FakeModel, @unchecked Sendable {
    // Safe: adds only an immutable, Sendable gate to FakeModel.
    let gate: AsyncGate
    init(gate: AsyncGate) {
        self.gate = gate
        super.init { _ in [.delta("done"), .finish(.stop)] }
    }

    override func stream(_ request: ChatRequest) -> AsyncThrowingStream<ModelEvent, Error> {
        let upstream = super.stream(request)
        let gate = gate
        return AsyncThrowingStream { continuation in
            // Test-only forwarder: waits for the gate, then replays the scripted events.
            let task = Task {
                await gate.wait()
                do {
                    for try await event in upstream { continuation.yield(event) }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }
}

import BridgeConfig
@testable import BridgeCore
import Foundation
import Logging
import ModelClient
import PBTestSupport
import ServiceLifecycle
import Storage
import Testing

/// A model whose streams the test holds open: each sends "part1 " at once; "quick" ones then wait for
/// `release()` and send "part2", "slow" ones never end by themselves.
final class GatedModel: ChatModel, @unchecked Sendable {
    // Safe: `requestCount` and `released` are only touched under `lock`.
    private let lock = NSLock()
    private var requestCount = 0
    private var released = false

    var requests: Int { lock.withLock { requestCount } }
    func release() { lock.withLock { released = true } }
    private var isReleased: Bool { lock.withLock { released } }

    func stream(_ request: ChatRequest) -> AsyncThrowingStream<ModelEvent, Error> {
        lock.withLock { requestCount += 1 }
        let quick = request.messages.last?.content.contains("quick") == true
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: ModelEvent.self, throwing: Error.self)
        let feeder = Task {
            continuation.yield(.delta("part1 "))
            if quick {
                // Goes on once the test releases it (or ends when cancelled).
                if (try? await eventually("the test's release", timeout: .seconds(3_600)) { self.isReleased }) != nil {
                    continuation.yield(.delta("part2"))
                    continuation.yield(.finish(.stop))
                    continuation.finish()
                    return
                }
            } else {
                // Held open until cancelled: a stream that never yields ends its iteration on cancellation.
                let (never, keep) = AsyncStream.makeStream(of: Void.self)
                for await _ in never {}
                withExtendedLifetime(keep) {}
            }
            continuation.finish(throwing: CancellationError())
        }
        continuation.onTermination = { _ in feeder.cancel() }
        return stream
    }
}

@Suite struct RouterShutdownTests {
    @Test func gracefulShutdownFinishesQuickRepliesAndCutsSlowOnesAtTheGracePeriod() async throws {
        let path = tempDatabasePath()
        let store = try await SQLiteStore.open(.file(path: path))
        let platform = InMemoryPlatform()
        let channels = (1...10).map { platform.channel("c\($0)", server: "s1") }
        var configuration = RouterConfiguration(
            personas: [Harness.aria],
            bindings: channels.map { .init(platform: "memory", channelID: $0.channelID, personas: ["aria"]) })
        configuration.shutdownGrace = .seconds(5)
        let model = GatedModel()
        let router = Router(configuration: configuration, model: model, store: store, platforms: [platform],
                            logger: Logger(label: "test"))
        let group = ServiceGroup(configuration: .init(services: [.init(service: platform), .init(service: router)],
                                                      logger: Logger(label: "test")))
        let running = Task { try await group.run() }
        for (index, channel) in channels.enumerated() {
            platform.post("Aria, \(index.isMultiple(of: 2) ? "quick" : "slow") one", by: alice, in: channel)
        }
        try await eventually("10 replies streaming") {
            model.requests == 10 && platform.sentMessages.filter { $0.text.hasPrefix("part1") }.count == 10
        }
        await group.triggerGracefulShutdown()
        try await eventually("the router to stop taking triggers") { router.isDraining }
        // A message after the signal is not taken, so it starts no request.
        platform.post("Aria, quick again", by: bob, in: channels[0])
        model.release()
        try await running.value

        #expect(model.requests == 10)
        let finals = platform.sentMessages.map(\.text)
        #expect(finals.count == 10, "\(finals)")
        #expect(finals.filter { $0 == "part1 part2" }.count == 5, "quick replies finished in full: \(finals)")
        #expect(finals.filter { $0 == "part1 \n\n(reply interrupted: the bridge is restarting)" }.count == 5,
                "slow replies end with their partial text and the notice: \(finals)")
        try await store.integrityCheck()
        var replies = 0
        for channel in channels where try await store.lastReply(in: Router.key(channel)) != nil { replies += 1 }
        #expect(replies == 10, "every reply, finished or cut off, is recorded")
        try await store.close()
        removeDatabaseFiles(atPath: path)
    }
}

@Suite struct BudgetTests {
    @Test func policyChecksRateThenUserChannelServer() {
        var settings = BudgetSettings(perUserTokensPerDay: 100, perChannelTokensPerDay: 1_000, perServerTokensPerDay: 5_000,
                                      noticeIntervalSeconds: 60, perUserMessagesPerMinute: 3)
        let policy = BudgetPolicy(settings: settings)
        #expect(policy.isActive)
        #expect(policy.decide(.init(userTokens: 99, channelTokens: 999, serverTokens: 4_999, userRequestsLastMinute: 2),
                              hasServer: true) == .allowed)
        #expect(policy.decide(.init(userTokens: 500, userRequestsLastMinute: 3), hasServer: true) == .refused(.rate, used: 3, limit: 3))
        #expect(policy.decide(.init(userTokens: 100), hasServer: true) == .refused(.user, used: 100, limit: 100))
        #expect(policy.decide(.init(channelTokens: 1_000), hasServer: true) == .refused(.channel, used: 1_000, limit: 1_000))
        #expect(policy.decide(.init(serverTokens: 5_000), hasServer: true) == .refused(.server, used: 5_000, limit: 5_000))
        #expect(policy.decide(.init(serverTokens: 5_000), hasServer: false) == .allowed, "no server, no server budget")
        let now = Date(timeIntervalSince1970: 1_000_000)
        #expect(policy.shouldNotify(lastNotice: nil, now: now))
        #expect(!policy.shouldNotify(lastNotice: now.addingTimeInterval(-59), now: now))
        #expect(policy.shouldNotify(lastNotice: now.addingTimeInterval(-60), now: now))
        settings = BudgetSettings()
        #expect(!BudgetPolicy(settings: settings).isActive)
        #expect(abs(settings.estimatedCost(promptTokens: 1_000_000, completionTokens: 1_000_000, cachedTokens: 500_000)
            - (0.15 + 0.015 + 1.20)) < 1e-9)
    }

    @Test func rateLimitRefusesBeforeTheModelAndNoticesOnce() async throws {
        let platform = InMemoryPlatform()
        let channel = platform.channel("general", server: "s1")
        var configuration = RouterConfiguration(personas: [Harness.aria],
                                                bindings: [.init(platform: "memory", channelID: "general", personas: ["aria"])])
        configuration.budgets = BudgetSettings(noticeIntervalSeconds: 3_600, perUserMessagesPerMinute: 2)
        let model = FakeModel.echo()
        let store = try SQLiteStore.inMemory()
        let router = Router(configuration: configuration, model: model, store: store, platforms: [platform],
                            logger: Logger(label: "test"))
        for n in 1...4 {
            await router.handle(.messageCreated(IncomingMessage(channel: channel, author: alice, messageID: "a\(n)",
                                                                text: "Aria, number \(n)")), from: platform)
        }
        await router.handle(.messageCreated(IncomingMessage(channel: channel, author: bob, messageID: "b1",
                                                            text: "Aria, my turn")), from: platform)
        #expect(model.requests.count == 3, "two for Alice, then she is over the rate; one for Bob")
        let texts = platform.sentMessages.map(\.text)
        #expect(texts.filter { $0.contains("too fast") }.count == 1, "one notice for two refused messages: \(texts)")
        #expect(texts.last == "Re Bob: Aria, my turn")
        // The refused messages are claimed: they are not answered later either.
        #expect(try await store.isAnswered(channel: Router.key(channel), messageID: "a4"))
    }

    @Test func channelBudgetCountsEveryoneAndTheBudgetCommandNeedsAModerator() async throws {
        let platform = InMemoryPlatform()
        platform.setModerators([moderator.id])
        let channel = platform.channel("general", server: "s1", serverName: "Test Server")
        var configuration = RouterConfiguration(personas: [Harness.aria],
                                                bindings: [.init(platform: "memory", channelID: "general", personas: ["aria"])])
        configuration.budgets = BudgetSettings(perChannelTokensPerDay: 50, perServerTokensPerDay: 1_000)
        let model = FakeModel.echo()
        let store = try SQLiteStore.inMemory()
        let router = Router(configuration: configuration, model: model, store: store, platforms: [platform],
                            logger: Logger(label: "test"))
        func post(_ text: String, by user: ChatUser) async {
            await router.handle(.messageCreated(IncomingMessage(channel: channel, author: user,
                                                                messageID: UUID().uuidString, text: text)), from: platform)
        }
        await post("Aria, hello", by: alice)   // 100 prompt + 10 completion tokens: the channel is now over 50
        await post("Aria, hi", by: bob)
        await post("Aria, hey", by: cara)
        #expect(model.requests.count == 1)
        var texts = platform.sentMessages.map(\.text)
        #expect(texts.filter { $0.contains("This channel has used its daily token budget") }.count == 1, "\(texts)")

        await post("!pb budget", by: bob)
        #expect(platform.sentMessages.last?.text.contains("only moderators") == true)
        await post("!pb budget", by: moderator)
        texts = platform.sentMessages.map(\.text)
        let report = try #require(texts.last)
        #expect(report.hasPrefix("Budget, last 24 h — this channel: 110 tokens in 1 requests"), "\(report)")
        #expect(report.contains("of 50, 0 left"), "\(report)")
        #expect(report.contains("server Test Server: 110 tokens in 1 requests"), "\(report)")
        #expect(report.contains("of 1000, 890 left"), "\(report)")
    }
}

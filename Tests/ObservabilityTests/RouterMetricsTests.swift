import BridgeConfig
@testable import BridgeCore
import Foundation
import Logging
import ModelClient
import PBTestSupport
import Observability
import Storage
import Testing

/// A model that answers each request with the next script.
final class ScriptedModel: ChatModel, @unchecked Sendable {
    // Safe: `scripts` is only touched under `lock`.
    private let lock = NSLock()
    private var scripts: [[ModelEvent]]
    private let failure: ModelError?

    init(_ scripts: [[ModelEvent]], thenFail failure: ModelError? = nil) {
        self.scripts = scripts
        self.failure = failure
    }

    func stream(_ request: ChatRequest) -> AsyncThrowingStream<ModelEvent, Error> {
        let next: [ModelEvent]? = lock.withLock { scripts.isEmpty ? nil : scripts.removeFirst() }
        let failure = self.failure
        return AsyncThrowingStream { continuation in
            guard let next else {
                continuation.finish(throwing: failure ?? ModelError(code: .serverError, message: "no script"))
                return
            }
            for event in next { continuation.yield(event) }
            continuation.finish()
        }
    }
}

@Suite struct RouterMetricsTests {
    @Test func repliesTokensEditsAndModel429sAreCounted() async throws {
        let registry = MetricsRegistry()
        let platform = InMemoryPlatform()
        let channel = platform.channel("general", server: "s1")
        let aria = Persona(name: "aria", displayName: "Aria", character: "You are Aria.")
        let configuration = RouterConfiguration(personas: [aria],
                                                bindings: [.init(platform: "memory", channelID: "general", personas: ["aria"])])
        let model = ScriptedModel(
            [[.delta("Hello "), .delta("there"), .finish(.stop),
              .usage(TokenUsage(promptTokens: 1_000, completionTokens: 100, cachedTokens: 800))]],
            thenFail: ModelError(code: .rateLimited, message: "slow down"))
        let router = Router(configuration: configuration, model: model, store: try SQLiteStore.inMemory(),
                            platforms: [platform], metrics: registry.bridgeMetrics, logger: Logger(label: "test"))
        for n in 1...2 {
            await router.handle(.messageCreated(IncomingMessage(channel: channel, author: ChatUser(id: "u", displayName: "U"),
                                                                messageID: "m\(n)", text: "Aria, hi")), from: platform)
        }
        let text = String(decoding: registry.exposition(), as: UTF8.self)
        func value(_ sample: String) -> Double? {
            text.split(separator: "\n").first { $0.hasPrefix(sample + " ") }.flatMap { Double($0.split(separator: " ").last!) }
        }
        #expect(value(#"pb_messages_in_total{platform="memory"}"#) == 2, "\(text)")
        #expect(value(#"pb_replies_started_total{platform="memory"}"#) == 2)
        #expect(value(#"pb_replies_finished_total{platform="memory"}"#) == 1)
        #expect(value(#"pb_replies_failed_total{platform="memory",reason="error"}"#) == 1)
        #expect(value(#"pb_rate_limited_total{platform="model"}"#) == 1)
        #expect(value(#"pb_tokens_total{platform="memory",kind="prompt"}"#) == 1_000)
        #expect(value(#"pb_tokens_total{platform="memory",kind="cached"}"#) == 800)
        #expect(value(#"pb_messages_out_total{platform="memory"}"#) == 2, "the reply and the failure notice")
        #expect((value(#"pb_edits_total{platform="memory"}"#) ?? 0) >= 1)
        #expect(value("pb_model_first_token_seconds_count") == 1, "only the reply that produced text")
        #expect(value("pb_model_reply_seconds_count") == 2)
        // 200 uncached × 0.30 + 800 cached × 0.03 + 100 × 1.20, per million.
        let cost = try #require(value(#"pb_cost_usd_total{platform="memory"}"#))
        #expect(abs(cost - 0.000204) < 1e-9)
        #expect(value(#"pb_queue_depth{platform="memory",queue="router"}"#) == nil, "handle() bypasses the queue")
    }
}

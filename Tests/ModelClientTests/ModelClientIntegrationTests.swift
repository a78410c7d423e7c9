import Foundation
import HTTPTransport
import Logging
import PBTestSupport
import Synchronization
import Testing

@testable import ModelClient

@Suite(.serialized) struct ModelClientIntegrationTests {
    static let allRoles = RoleFoldingTests.conversation

    @Test func openRouterRequestCarriesExactRolesNamesAndParameters() async throws {
        let fake = try await FakeModelServer.start()
        try await fake.script([["tokens": ["Hel", "lo"], "usage": ["prompt_tokens": 40, "completion_tokens": 2, "cached_tokens": 32]]])
        let client = fake.client { $0.httpReferer = "https://bridge.example"; $0.appTitle = "PersonaBridge"; $0.extraHeaders = ["X-Team": "model"] }
        let request = ChatRequest(
            messages: Self.allRoles, parameters: ModelParameters(temperature: 0.8, topP: 0.9, maxOutputTokens: 512))
        let (events, error) = await collect(client.stream(request))
        #expect(error == nil)
        #expect(events == [
            .delta("Hel"), .delta("lo"), .finish(.stop),
            .usage(TokenUsage(promptTokens: 40, completionTokens: 2, cachedTokens: 32)),
        ])
        let recorded = try await fake.requests()
        try #require(recorded.count == 1)
        #expect(recorded[0]["path"] as? String == "/api/v1/chat/completions")
        let headers = try #require(recorded[0]["headers"] as? [String: String])
        #expect(headers["authorization"] == "Bearer sk-fake-key-0123456789")
        #expect(headers["http-referer"] == "https://bridge.example")
        #expect(headers["x-title"] == "PersonaBridge")
        #expect(headers["x-team"] == "model")
        let body = try #require(recorded[0]["body"] as? [String: Any])
        #expect(body["model"] as? String == "minimax/minimax-m2-her")
        #expect(body["max_tokens"] as? Int == 512)
        #expect(body["max_completion_tokens"] == nil)
        #expect(body["temperature"] as? Double == 0.8)
        #expect(body["top_p"] as? Double == 0.9)
        #expect(body["stream"] as? Bool == true)
        let messages = try #require(body["messages"] as? [[String: String]])
        #expect(messages.map { $0["role"] } == Self.allRoles.map(\.role.rawValue))
        #expect(messages.map { $0["name"] } == Self.allRoles.map(\.name))
        #expect(messages.map { $0["content"] } == Self.allRoles.map(\.content))
    }

    @Test(arguments: [ModelProvider.minimax, .minimaxNative])
    func miniMaxRequestUsesMaxCompletionTokens(provider: ModelProvider) async throws {
        let fake = try await FakeModelServer.start()
        let client = fake.client(provider: provider)
        let request = ChatRequest(
            messages: [ChatMessage(role: .system, content: "c", name: "Mira"), ChatMessage(role: .user, content: "hi there", name: "Ann")],
            parameters: ModelParameters(maxOutputTokens: 100))
        let (events, error) = await collect(client.stream(request))
        #expect(error == nil)
        #expect(events.text == "You said: hi there")
        #expect(events.contains(.finish(.stop)))
        let recorded = try await fake.requests()
        try #require(recorded.count == 1)
        #expect(recorded[0]["path"] as? String == (provider == .minimax ? "/api/v1/chat/completions" : "/api/v1/text/chatcompletion_v2"))
        let body = try #require(recorded[0]["body"] as? [String: Any])
        #expect(body["model"] as? String == "M2-her")
        #expect(body["max_completion_tokens"] as? Int == 100)
        #expect(body["max_tokens"] == nil)
        let messages = try #require(body["messages"] as? [[String: String]])
        #expect(messages == [["role": "system", "content": "c", "name": "Mira"], ["role": "user", "content": "hi there", "name": "Ann"]])
    }

    @Test func foldedDialectSendsOnlyStandardRoles() async throws {
        let fake = try await FakeModelServer.start(arguments: ["--reject-roles", "group,user_system,sample_message_user,sample_message_ai"])
        let client = fake.client(dialect: .folded)
        let (events, error) = await collect(client.stream(ChatRequest(messages: Self.allRoles)))
        #expect(error == nil)
        #expect(events.text == "You said: Thanks.")
        let messages = try #require(try await fake.requestBodies().first?["messages"] as? [[String: String]])
        #expect(messages.map { $0["role"] } == ["system", "user", "assistant", "user"])
        #expect(messages.map { $0["name"] } == ["Mira", "Ann", "Mira", "Bo"])
        #expect(messages[0]["content"] == RoleFolding.fold(Self.allRoles)[0].content)
    }

    @Test func autoDialectFoldsOnceAfterRoleRejectionAndRemembers() async throws {
        let fake = try await FakeModelServer.start(arguments: ["--reject-roles", "group"])
        let memory = RoleDialectMemory()
        let client = fake.client(dialect: .auto, memory: memory)
        let first = await collect(client.stream(ChatRequest(messages: Self.allRoles)))
        #expect(first.error == nil)
        #expect(first.events.text == "You said: Thanks.")
        var recorded = try await fake.requests()
        try #require(recorded.count == 2)
        #expect(recorded.map { $0["status"] as? Int } == [400, 200])
        let roles = recorded.map { request in
            ((request["body"] as? [String: Any])?["messages"] as? [[String: String]] ?? []).map { $0["role"] ?? "" }
        }
        #expect(roles[0].contains("group"))
        #expect(!roles[1].contains("group"))
        #expect(Set(roles[1]).isSubset(of: ["system", "user", "assistant"]))
        #expect(memory.requiresFolding(provider: .openrouter, endpoint: fake.baseURL + "/chat/completions"))

        let second = await collect(client.stream(ChatRequest(messages: Self.allRoles)))
        #expect(second.error == nil)
        recorded = try await fake.requests()
        #expect(recorded.count == 3, "the next request goes folded straight away")
        #expect(recorded.last?["status"] as? Int == 200)
    }

    @Test func nativeDialectReportsRoleRejectionWithoutRetry() async throws {
        let fake = try await FakeModelServer.start(arguments: ["--reject-roles", "group"])
        let client = fake.client(dialect: .native)
        let (events, error) = await collect(client.stream(ChatRequest(messages: Self.allRoles)))
        #expect(events.isEmpty)
        #expect(error?.code == .roleRejected)
        #expect(error?.status == 400)
        #expect(error?.message.contains("folded") == true)
        #expect(try await fake.requests().count == 1)
    }

    @Test func rateLimitThenSuccessRetriesOnceAfterRetryAfter() async throws {
        let fake = try await FakeModelServer.start()
        try await fake.script([
            ["status": 429, "headers": ["Retry-After": "1"], "body": ["error": ["message": "Rate limit exceeded", "code": 429]]],
            ["tokens": ["ok"]],
        ])
        let clock = RecordingClock(realSleep: true)
        let client = fake.client(clock: clock)
        let (events, error) = await collect(client.stream(ChatRequest(messages: [ChatMessage(role: .user, content: "x")])))
        #expect(error == nil)
        #expect(events.text == "ok")
        let recorded = try await fake.requests()
        #expect(recorded.count == 2)
        #expect(clock.sleeps.count == 1)
        // The clock sees the deadline a hair after the client computed it; the server timestamps are exact.
        #expect(clock.sleeps.allSatisfy { $0 >= .milliseconds(990) }, "\(clock.sleeps)")
        if recorded.count == 2, let t0 = recorded[0]["monotonic"] as? Double, let t1 = recorded[1]["monotonic"] as? Double {
            #expect(t1 - t0 >= 1.0, "the retry came \(t1 - t0) s after the 429")
        }
    }

    @Test func serverErrorsAreRetriedWithBackoffUntilAttemptsRunOut() async throws {
        let fake = try await FakeModelServer.start()
        try await fake.script([["status": 503], ["status": 500], ["status": 502], ["tokens": ["never"]]])
        let clock = RecordingClock(realSleep: false)
        let client = fake.client(maxAttempts: 3, clock: clock)
        let (events, error) = await collect(client.stream(ChatRequest(messages: [ChatMessage(role: .user, content: "x")])))
        #expect(events.isEmpty)
        #expect(error?.code == .serverError)
        #expect(error?.status == 502)
        #expect(error?.attempts == 3)
        #expect(try await fake.requests().count == 3)
        #expect(clock.sleeps.count == 2)
        #expect(clock.sleeps.allSatisfy { $0 >= .milliseconds(10) && $0 <= .milliseconds(100) })
    }

    @Test func errorAfterThreeTokensCarriesThoseTokens() async throws {
        let fake = try await FakeModelServer.start()
        try await fake.script([[
            "tokens": ["one ", "two ", "three ", "four"], "error_after": 3,
            "error": ["code": 500, "message": "Internal provider error"],
        ]])
        let client = fake.client()
        let (events, error) = await collect(client.stream(ChatRequest(messages: [ChatMessage(role: .user, content: "x")])))
        #expect(events.deltas == ["one ", "two ", "three "])
        #expect(error?.code == .serverError)
        #expect(error?.partialText == "one two three ")
        #expect(error?.message.contains("Internal provider error") == true)
        #expect(try await fake.requests().count == 1, "no silent restart after the first token")
    }

    @Test func droppedConnectionIsTruncatedWithPartialText() async throws {
        let fake = try await FakeModelServer.start()
        try await fake.script([["tokens": ["par", "tial", " never"], "drop_after": 2]])
        let client = fake.client()
        let (events, error) = await collect(client.stream(ChatRequest(messages: [ChatMessage(role: .user, content: "x")])))
        #expect(events.deltas == ["par", "tial"])
        #expect(error?.code == .truncated)
        #expect(error?.partialText == "partial")
        #expect(try await fake.requests().count == 1)
    }

    @Test func cancelledConsumerTaskClosesTheConnection() async throws {
        let fake = try await FakeModelServer.start()
        try await fake.script([["tokens": (0..<200).map { "t\($0) " }, "token_interval": 0.05]])
        let client = fake.client()
        let received = MutexBox(0)
        let consumer = Task {
            for try await event in client.stream(ChatRequest(messages: [ChatMessage(role: .user, content: "x")])) {
                if case .delta = event { received.withLock { $0 += 1 } }
            }
        }
        try? await eventually("three deltas", timeout: .seconds(10)) { received.withLock { $0 } >= 3 }
        consumer.cancel()
        _ = await consumer.result
        let recorded = try await fake.waitForRequests { ($0.first?["client_closed"] as? Bool) == true }
        #expect(received.withLock { $0 } >= 3)
        #expect(recorded.first?["client_closed"] as? Bool == true, "the server never saw the connection close")
        #expect((recorded.first?["tokens_sent"] as? Int ?? 999) < 100)
        #expect(recorded.first?["finished"] as? Bool == false)
    }

    @Test func consumerBreakingOutOfTheLoopClosesTheConnection() async throws {
        let fake = try await FakeModelServer.start()
        try await fake.script([["tokens": (0..<200).map { "t\($0) " }, "token_interval": 0.05]])
        let client = fake.client()
        var count = 0
        for try await event in client.stream(ChatRequest(messages: [ChatMessage(role: .user, content: "x")])) {
            if case .delta = event { count += 1 }
            if count == 3 { break }
        }
        let recorded = try await fake.waitForRequests { ($0.first?["client_closed"] as? Bool) == true }
        #expect(recorded.first?["client_closed"] as? Bool == true, "the server never saw the connection close")
        #expect((recorded.first?["tokens_sent"] as? Int ?? 999) < 100)
    }

    @Test func streamEndsForTheConsumerAtDoneEvenIfTheBodyStaysOpen() async throws {
        let fake = try await FakeModelServer.start()
        try await fake.script([["tokens": ["a", "b"], "hold_after_done": 5]])
        let (events, error) = await collect(fake.client().stream(ChatRequest(messages: [ChatMessage(role: .user, content: "x")])))
        #expect(error == nil)
        #expect(events.text == "ab")
        let recorded = try await fake.requests()
        #expect(recorded.first?["finished"] as? Bool == false, "the consumer waited for the body to end")
    }

    @Test func unauthorizedNamesTheKeyVariableAndIsNotRetried() async throws {
        let fake = try await FakeModelServer.start()
        try await fake.script([["status": 401, "body": ["error": ["message": "No auth credentials found", "code": 401]]]])
        let client = fake.client(keyVariable: "PB_TEST_OPENROUTER_KEY")
        let (events, error) = await collect(client.stream(ChatRequest(messages: [ChatMessage(role: .user, content: "x")])))
        #expect(events.isEmpty)
        #expect(error?.code == .unauthorized)
        #expect(error?.status == 401)
        #expect(error?.message.contains("PB_TEST_OPENROUTER_KEY") == true)
        #expect(error?.message.contains("No auth credentials found") == true)
        #expect(try await fake.requests().count == 1)
    }

    @Test(arguments: [(402, "credits"), (403, "permissions"), (400, "max output tokens")])
    func clientErrorsAreSpecificAndNotRetried(status: Int, phrase: String) async throws {
        let fake = try await FakeModelServer.start()
        try await fake.script([["status": status, "body": ["error": ["message": "nope", "code": status]]]])
        let client = fake.client()
        let (_, error) = await collect(client.stream(ChatRequest(messages: [ChatMessage(role: .user, content: "x")])))
        #expect(error?.status == status)
        #expect(error?.message.contains(phrase) == true, "\(error?.message ?? "no error")")
        #expect(try await fake.requests().count == 1)
    }

    @Test func invalidParametersFailBeforeAnyRequest() async throws {
        let fake = try await FakeModelServer.start()
        let client = fake.client()
        let request = ChatRequest(messages: [ChatMessage(role: .user, content: "x")], parameters: ModelParameters(temperature: 1.5))
        let (_, error) = await collect(client.stream(request))
        #expect(error?.code == .invalidParameter)
        #expect(error?.message.contains("temperature") == true)
        #expect(try await fake.requests().isEmpty)
    }

    @Test(arguments: [ModelProvider.openrouter, .minimaxNative])
    func nonStreamingModeGivesTheSameEvents(provider: ModelProvider) async throws {
        let fake = try await FakeModelServer.start()
        let usage: [String: Any] = ["prompt_tokens": 9, "completion_tokens": 3, "cached_tokens": 5]
        try await fake.script([["tokens": ["a ", "b ", "c"], "usage": usage], ["tokens": ["a ", "b ", "c"], "usage": usage]])
        let client = fake.client(provider: provider)
        var request = ChatRequest(messages: [ChatMessage(role: .user, content: "x")])
        let streamed = await collect(client.stream(request))
        request.stream = false
        let whole = await collect(client.stream(request))
        #expect(streamed.error == nil && whole.error == nil)
        #expect(streamed.events.text == whole.events.text)
        #expect(whole.events == [.delta("a b c"), .finish(.stop), .usage(TokenUsage(promptTokens: 9, completionTokens: 3, cachedTokens: 5))])
        #expect(Array(streamed.events.suffix(2)) == Array(whole.events.suffix(2)))
        #expect(try await fake.requestBodies().map { $0["stream"] as? Bool } == [true, false])
    }

    @Test func slowFirstTokenWithKeepAlivesStaysWithinIdleTimeout() async throws {
        let fake = try await FakeModelServer.start()
        try await fake.script([
            ["tokens": ["late"], "first_token_delay": 1.6, "keepalive_interval": 0.3],
            ["tokens": ["never"], "first_token_delay": 5, "keepalives": 0],
        ])
        let client = fake.client(maxAttempts: 1, idleTimeout: .seconds(1))
        let ok = await collect(client.stream(ChatRequest(messages: [ChatMessage(role: .user, content: "x")])))
        #expect(ok.error == nil)
        #expect(ok.events.text == "late")
        let idle = await collect(client.stream(ChatRequest(messages: [ChatMessage(role: .user, content: "x")])))
        #expect(idle.events.isEmpty)
        #expect(idle.error?.code == .idleTimeout)
    }

    @Test func miniMaxNativeBaseRespErrorAndSensitiveOutput() async throws {
        let fake = try await FakeModelServer.start()
        try await fake.script([
            ["tokens": ["a", "b"], "base_resp_after": 1, "base_resp": ["status_code": 1027, "status_msg": "output new_sensitive"]],
            ["tokens": ["hidden"], "output_sensitive": true],
        ])
        let client = fake.client(provider: .minimaxNative)
        let failed = await collect(client.stream(ChatRequest(messages: [ChatMessage(role: .user, content: "x")])))
        #expect(failed.events.deltas == ["a"])
        #expect(failed.error?.providerCode == "1027")
        #expect(failed.error?.partialText == "a")
        let filtered = await collect(client.stream(ChatRequest(messages: [ChatMessage(role: .user, content: "x")])))
        #expect(filtered.error == nil)
        #expect(filtered.events.text.isEmpty)
        #expect(filtered.events.contains(.finish(.contentFilter)))
    }

    @Test func connectFailureIsRetriedThenReported() async throws {
        let refusing = try RefusingPort()
        defer { withExtendedLifetime(refusing) {} }
        let port = refusing.port
        let clock = RecordingClock(realSleep: false)
        let http = HTTPClient()
        defer { http.shutdown() }
        let configuration = ModelClientConfiguration(
            provider: .openaiCompatible, baseURL: "http://127.0.0.1:\(port)/v1", model: "m", apiKey: APIKey("k"),
            maxAttempts: 2, initialBackoff: .milliseconds(10))
        let client = ModelSession(configuration: configuration, httpClient: http, logger: Logger(label: "t"), clock: clock)
        let (_, error) = await collect(client.stream(ChatRequest(messages: [ChatMessage(role: .user, content: "x")])))
        #expect(error?.code == .connectFailed)
        #expect(error?.attempts == 2)
        #expect(clock.sleeps.count == 1)
    }

    @Test func apiKeyNeverAppearsInTraceLogs() async throws {
        let fake = try await FakeModelServer.start(arguments: ["--reject-roles", "group"])
        let key = "sk-or-v1-SECRET-4f8a2b9c7d"
        let store = LogCapture()
        let logger = store.logger(label: "test.model")
        let http = HTTPClient(logger: logger)
        defer { http.shutdown() }
        try await fake.script([
            ["status": 429, "headers": ["Retry-After": "0"]],
            ["tokens": ["a", "b"]],
            ["status": 401],
            ["tokens": ["x"], "error_after": 0],
        ])
        let client = fake.client(dialect: .auto, key: key, logger: logger, httpClient: http)
        for _ in 0..<4 {
            let request = ChatRequest(messages: Self.allRoles, logMetadata: ["platform": "console", "channel": "lobby"])
            let (_, error) = await collect(client.stream(request))
            if let error { logger.error("request failed", metadata: ["error": "\(error)"]) }
        }
        logger.trace("configuration", metadata: ["configuration": "\(client.configuration)", "key": "\(client.configuration.apiKey)"])
        let lines = store.lines
        #expect(lines.count > 10, "expected trace logs, got \(lines)")
        #expect(lines.contains { $0.contains("model request") })
        #expect(lines.contains { $0.contains("retrying") })
        #expect(lines.contains { $0.contains("model request") && $0.contains("channel=lobby") && $0.contains("platform=console") })
        for line in lines {
            #expect(!line.contains(key), "API key leaked: \(line)")
            #expect(!line.contains("SECRET"), "API key leaked: \(line)")
        }
    }
}

/// A mutex a test's tasks can share (a `Mutex` itself cannot be captured by an escaping closure).
private final class MutexBox<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>
    init(_ value: Value) { mutex = Mutex(value) }
    func withLock<R: Sendable>(_ body: (inout Value) -> R) -> R { mutex.withLock { body(&$0) } }
}

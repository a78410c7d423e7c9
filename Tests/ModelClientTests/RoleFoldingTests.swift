import Foundation
import Testing

@testable import ModelClient

@Suite struct RoleFoldingTests {
    static let conversation: [ChatMessage] = [
        ChatMessage(role: .system, content: "You are Mira, a lighthouse keeper.", name: "Mira"),
        ChatMessage(role: .group, content: "#harbour on the Coast server", name: "harbour"),
        ChatMessage(role: .userSystem, content: "A sailor looking for shelter.", name: "Ann"),
        ChatMessage(role: .sampleMessageUser, content: "Is the light on?"),
        ChatMessage(role: .sampleMessageAI, content: "Always, dear. Always."),
        ChatMessage(role: .sampleMessageUser, content: "Storm tonight?", name: "Bo"),
        ChatMessage(role: .sampleMessageAI, content: "The sea says yes."),
        ChatMessage(role: .user, content: "Hello!", name: "Ann"),
        ChatMessage(role: .assistant, content: "Welcome in.", name: "Mira"),
        ChatMessage(role: .user, content: "Thanks.", name: "Bo"),
    ]

    @Test func foldsIntoTheDocumentedLayout() {
        let folded = RoleFolding.fold(Self.conversation)
        #expect(folded.map(\.role) == [.system, .user, .assistant, .user])
        #expect(folded.map(\.name) == ["Mira", "Ann", "Mira", "Bo"])
        #expect(folded.dropFirst().map(\.content) == ["Hello!", "Welcome in.", "Thanks."])
        let expected = """
            You are Mira, a lighthouse keeper.

            [Scene]
            harbour: #harbour on the Coast server

            [User persona]
            Ann: A sailor looking for shelter.

            [Example exchanges: they set style and pacing only and are not part of the conversation]
            User: Is the light on?
            Mira: Always, dear. Always.

            Bo: Storm tonight?
            Mira: The sea says yes.
            """
        #expect(folded[0].content == expected)
    }

    @Test func foldingIsDeterministicAndIdempotent() {
        let once = RoleFolding.fold(Self.conversation)
        #expect(RoleFolding.fold(Self.conversation) == once)
        #expect(RoleFolding.fold(once) == once)
        #expect(!RoleFolding.needsFolding(once))
    }

    @Test func plainConversationIsUnchanged() {
        let plain = [ChatMessage(role: .system, content: "s"), ChatMessage(role: .user, content: "u", name: "x")]
        #expect(RoleFolding.fold(plain) == plain)
    }

    @Test func missingSystemMessageIsCreatedAndUnknownRolesKept() {
        let folded = RoleFolding.fold([
            ChatMessage(role: .user, content: "hi"),
            ChatMessage(role: ChatRole(rawValue: "narrator"), content: "It rains.", name: "N"),
            ChatMessage(role: .group, content: "scene"),
        ])
        #expect(folded.count == 2)
        #expect(folded[0].role == .system && folded[0].name == nil)
        #expect(folded[0].content == "[Scene]\nscene\n\n[Other context]\nnarrator (N): It rains.")
        #expect(folded[1] == ChatMessage(role: .user, content: "hi"))
    }
}

@Suite struct CompletionRequestBuilderTests {
    static func json(_ bytes: [UInt8]) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
    }

    @Test func openRouterBodyAndHeaders() throws {
        var configuration = ModelClientConfiguration(
            apiKey: APIKey("sk-test"), httpReferer: "https://example.org", appTitle: "PersonaBridge")
        configuration.extraHeaders = ["X-Extra": "1"]
        let builder = CompletionRequestBuilder(configuration: configuration)
        let request = ChatRequest(
            messages: RoleFoldingTests.conversation, parameters: ModelParameters(temperature: 0.7, topP: 0.9, maxOutputTokens: 300))
        let http = try builder.httpRequest(for: request, folded: false)
        #expect(http.url == "https://openrouter.ai/api/v1/chat/completions")
        #expect(http.method == .post)
        #expect(http.headers["authorization"] == "Bearer sk-test")
        #expect(http.headers["HTTP-Referer"] == "https://example.org")
        #expect(http.headers["X-Title"] == "PersonaBridge")
        #expect(http.headers["X-Extra"] == "1")
        #expect(http.headers["Accept"] == "text/event-stream")
        #expect(http.timeouts.idle == .seconds(60))
        let body = try Self.json(try #require(http.body))
        #expect(body["model"] as? String == "minimax/minimax-m2-her")
        #expect(body["max_tokens"] as? Int == 300)
        #expect(body["max_completion_tokens"] == nil)
        #expect(body["temperature"] as? Double == 0.7)
        #expect(body["top_p"] as? Double == 0.9)
        #expect(body["stream"] as? Bool == true)
        let messages = try #require(body["messages"] as? [[String: String]])
        #expect(messages.map { $0["role"] } == RoleFoldingTests.conversation.map(\.role.rawValue))
        #expect(messages.map { $0["name"] } == RoleFoldingTests.conversation.map(\.name))
    }

    @Test func miniMaxUsesMaxCompletionTokens() throws {
        for provider in [ModelProvider.minimax, .minimaxNative] {
            let builder = CompletionRequestBuilder(
                configuration: ModelClientConfiguration(provider: provider, apiKey: APIKey("k"), httpReferer: "x"))
            let request = ChatRequest(messages: [ChatMessage(role: .user, content: "hi")], model: "custom", stream: false)
            let http = try builder.httpRequest(for: request, folded: true)
            let body = try Self.json(try #require(http.body))
            #expect(body["max_completion_tokens"] as? Int == 2048)
            #expect(body["max_tokens"] == nil)
            #expect(body["model"] as? String == "custom")
            #expect(body["stream"] as? Bool == false)
            #expect(body["usage"] == nil)
            #expect(http.headers["HTTP-Referer"] == nil)
            #expect(http.headers["Accept"] == "application/json")
        }
    }

    @Test func retryAfterParsing() {
        #expect(RetryPolicy.parseRetryAfter("2") == .seconds(2))
        #expect(RetryPolicy.parseRetryAfter("0.5") == .milliseconds(500))
        #expect(RetryPolicy.parseRetryAfter(nil) == nil)
        #expect(RetryPolicy.parseRetryAfter("soon") == nil)
        let now = Date(timeIntervalSince1970: 1_700_000_000)
        let later = "Tue, 14 Nov 2023 22:13:30 GMT"  // 1_700_000_010
        #expect(RetryPolicy.parseRetryAfter(later, now: now) == .seconds(10))
    }

    @Test func backoffGrowsAndStaysWithinBounds() {
        let policy = RetryPolicy(
            configuration: ModelClientConfiguration(
                apiKey: APIKey("k"), initialBackoff: .milliseconds(100), maxBackoff: .milliseconds(350)))
        var random = SystemRandomNumberGenerator()
        for _ in 0..<50 {
            let first = policy.backoff(retry: 1, using: &random)
            #expect(first >= .milliseconds(50) && first <= .milliseconds(100))
            let second = policy.backoff(retry: 2, using: &random)
            #expect(second >= .milliseconds(100) && second <= .milliseconds(200))
            let capped = policy.backoff(retry: 10, using: &random)
            #expect(capped >= .milliseconds(175) && capped <= .milliseconds(350))
        }
    }

    @Test func roleRejectionDetection() {
        let body = Array(#"{"error":{"message":"Invalid role: group","code":400}}"#.utf8)
        #expect(ModelSession.rejectsRole(body: body, sentExtensionRoles: [.group]))
        #expect(!ModelSession.rejectsRole(body: body, sentExtensionRoles: []))
        let other = Array(#"{"error":{"message":"max_tokens is too large","code":400}}"#.utf8)
        #expect(!ModelSession.rejectsRole(body: other, sentExtensionRoles: [.group]))
        #expect(ModelSession.errorDetail(from: body) == "Invalid role: group")
        #expect(ModelSession.providerCode(from: body) == "400")
    }
}

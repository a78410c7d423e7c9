import Foundation
import HTTPTransport
import Logging
import Testing

@testable import ModelClient

/// An in-process transport that replays canned responses and records requests.
final class ScriptedTransport: ModelHTTPTransport, @unchecked Sendable {
    // `lock` guards both arrays.
    private let lock = NSLock()
    private var replies: [Result<(Int, [String: String], String), HTTPClientError>]
    private var seen: [HTTPRequest] = []

    init(_ replies: [Result<(Int, [String: String], String), HTTPClientError>]) { self.replies = replies }

    var requests: [HTTPRequest] { lock.withLock { seen } }

    func execute(_ request: HTTPRequest) async throws -> HTTPResponse {
        let reply: Result<(Int, [String: String], String), HTTPClientError> = lock.withLock {
            seen.append(request)
            return replies.isEmpty ? .failure(HTTPClientError(code: .transport, message: "no scripted reply")) : replies.removeFirst()
        }
        let (status, fields, body) = try reply.get()
        var headers = HTTPHeaders()
        for (name, value) in fields.sorted(by: { $0.key < $1.key }) { headers.add(name: name, value: value) }
        return HTTPResponse(status: status, headers: headers, body: HTTPResponseBody(chunks: [Array(body.utf8)]))
    }
}

@Suite struct ModelClientRetryTests {
    static let sse = #"data: {"choices":[{"delta":{"content":"ok"},"finish_reason":"stop"}]}"# + "\n\ndata: [DONE]\n\n"
    static let sseHeaders = ["Content-Type": "text/event-stream"]

    static func client(
        _ transport: ScriptedTransport, clock: RecordingClock = RecordingClock(realSleep: false),
        dialect: RoleDialect = .auto, maxAttempts: Int = 3, memory: RoleDialectMemory = RoleDialectMemory()
    ) -> ModelSession {
        let configuration = ModelClientConfiguration(
            provider: .openaiCompatible, baseURL: "http://fake.invalid/v1", model: "m",
            apiKey: APIKey("k", source: .file("/etc/pb/key")), dialect: dialect, maxAttempts: maxAttempts,
            initialBackoff: .milliseconds(100), maxBackoff: .seconds(1), maxRetryAfter: .seconds(30))
        return ModelSession(
            configuration: configuration, transport: transport, logger: Logger(label: "t"), clock: clock,
            dialectMemory: memory)
    }

    static let request = ChatRequest(messages: [ChatMessage(role: .user, content: "x")])

    @Test func retryAfterLongerThanTheCapFailsWithoutWaiting() async {
        let transport = ScriptedTransport([.success((429, ["Retry-After": "120"], "{}")), .success((200, Self.sseHeaders, Self.sse))])
        let clock = RecordingClock(realSleep: false)
        let (_, error) = await collect(Self.client(transport, clock: clock).stream(Self.request))
        #expect(error?.code == .rateLimited)
        #expect(error?.message.contains("longer than") == true)
        #expect(clock.sleeps.isEmpty)
        #expect(transport.requests.count == 1)
    }

    @Test func rateLimitedOnEveryAttemptReportsAttempts() async {
        let transport = ScriptedTransport(Array(repeating: .success((429, ["Retry-After": "1"], "{}")), count: 3))
        let clock = RecordingClock(realSleep: false)
        let (_, error) = await collect(Self.client(transport, clock: clock).stream(Self.request))
        #expect(error?.code == .rateLimited)
        #expect(error?.attempts == 3)
        #expect(clock.sleeps.count == 2)
        #expect(clock.sleeps.allSatisfy { $0 >= .milliseconds(990) && $0 <= .seconds(1) })
    }

    @Test func errorBodyInA200BeforeTheFirstTokenIsRetried() async {
        let transport = ScriptedTransport([
            .success((200, ["Content-Type": "application/json"], #"{"error":{"code":503,"message":"overloaded"}}"#)),
            .success((408, [:], "")),
            .success((200, Self.sseHeaders, Self.sse)),
        ])
        let (events, error) = await collect(Self.client(transport).stream(Self.request))
        #expect(error == nil)
        #expect(events == [.delta("ok"), .finish(.stop)])
        #expect(transport.requests.count == 3)
    }

    @Test func connectTimeoutIsRetriedButTLSFailureIsNot() async {
        let retried = ScriptedTransport([
            .failure(HTTPClientError(code: .connectTimeout, message: "slow")), .success((200, Self.sseHeaders, Self.sse)),
        ])
        #expect(await collect(Self.client(retried).stream(Self.request)).error == nil)
        #expect(retried.requests.count == 2)
        let tls = ScriptedTransport([.failure(HTTPClientError(code: .tlsFailure, message: "bad cert"))])
        let (_, error) = await collect(Self.client(tls).stream(Self.request))
        #expect(error?.code == .transport)
        #expect(error?.message.contains("TLS") == true)
        #expect(tls.requests.count == 1)
    }

    @Test func foldedRetryThatStillFailsIsNotRepeated() async throws {
        let rejection = #"{"error":{"message":"invalid role user_system","code":400}}"#
        let transport = ScriptedTransport([.success((400, [:], rejection)), .success((400, [:], #"{"error":{"message":"bad model"}}"#))])
        let messages = [ChatMessage(role: .userSystem, content: "me"), ChatMessage(role: .user, content: "x")]
        let (_, error) = await collect(Self.client(transport).stream(ChatRequest(messages: messages)))
        #expect(error?.code == .badRequest)
        #expect(transport.requests.count == 2)
        let bodies = try transport.requests.map { try #require(String(bytes: $0.body ?? [], encoding: .utf8)) }
        #expect(bodies[0].contains("user_system"))
        #expect(!bodies[1].contains("user_system"))
    }

    @Test func unauthorizedFromAKeyFileNamesTheFile() async {
        let transport = ScriptedTransport([.success((401, [:], #"{"error":{"message":"invalid key"}}"#))])
        let (_, error) = await collect(Self.client(transport).stream(Self.request))
        #expect(error?.code == .unauthorized)
        #expect(error?.message.contains("/etc/pb/key") == true)
    }

    @Test func streamWithoutEndIsTruncatedAndNotRetried() async {
        let partial = #"data: {"choices":[{"delta":{"content":"half"}}]}"# + "\n\n"
        let transport = ScriptedTransport([.success((200, Self.sseHeaders, partial)), .success((200, Self.sseHeaders, Self.sse))])
        let (events, error) = await collect(Self.client(transport).stream(Self.request))
        #expect(events == [.delta("half")])
        #expect(error?.code == .truncated)
        #expect(error?.partialText == "half")
        #expect(transport.requests.count == 1)
    }

    @Test func dialectMemoryIsPerProviderAndEndpoint() async {
        let memory = RoleDialectMemory()
        let rejection = #"{"error":{"message":"invalid role: group","code":400}}"#
        let transport = ScriptedTransport([
            .success((400, [:], rejection)), .success((200, Self.sseHeaders, Self.sse)),
            .success((200, Self.sseHeaders, Self.sse)),
        ])
        let messages = [ChatMessage(role: .group, content: "g"), ChatMessage(role: .user, content: "x")]
        #expect(await collect(Self.client(transport, memory: memory).stream(ChatRequest(messages: messages))).error == nil)
        #expect(memory.requiresFolding(provider: .openaiCompatible, endpoint: "http://fake.invalid/v1/chat/completions"))
        #expect(!memory.requiresFolding(provider: .openrouter, endpoint: "http://fake.invalid/v1/chat/completions"))
        #expect(!memory.requiresFolding(provider: .openaiCompatible, endpoint: "http://other.invalid/v1/chat/completions"))
        // A second client sharing the memory goes folded straight away.
        #expect(await collect(Self.client(transport, memory: memory).stream(ChatRequest(messages: messages))).error == nil)
        #expect(transport.requests.count == 3)
        #expect(String(decoding: transport.requests[2].body ?? [], as: UTF8.self).contains("[Scene]"))
    }

    @Test func unprocessableEntityRejectingARoleAlsoFolds() async {
        let detail = #"{"detail":[{"loc":["body","messages",0,"role"],"msg":"Input should be 'system', 'user' or 'assistant'","input":"group"}]}"#
        let transport = ScriptedTransport([.success((422, [:], detail)), .success((200, Self.sseHeaders, Self.sse))])
        let messages = [ChatMessage(role: .group, content: "g"), ChatMessage(role: .user, content: "x")]
        let (events, error) = await collect(Self.client(transport).stream(ChatRequest(messages: messages)))
        #expect(error == nil)
        #expect(events.text == "ok")
        #expect(transport.requests.count == 2)
    }
}

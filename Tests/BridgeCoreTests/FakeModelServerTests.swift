@testable import BridgeCore
import Foundation
import HTTPTransport
import Logging
import ModelClient
import PBTestSupport
import Storage
import Testing

/// A model session (libcurl, one attempt) on the fake M2-her server at `port`.
func fakeModelSession(port: Int, http: HTTPClient) -> ModelSession {
    ModelSession(
        configuration: ModelClientConfiguration(provider: .openrouter, baseURL: "http://127.0.0.1:\(port)/api/v1",
                                                model: "minimax/minimax-m2-her", apiKey: APIKey("test-key"), maxAttempts: 1),
        httpClient: http, logger: Logger(label: "test"))
}

/// End to end through the real `ModelSession` (libcurl) against the fake M2-her server on loopback.
@Suite struct FakeModelServerTests {
    @Test func replyStreamsFromTheFakeServerAndAMidStreamErrorLeavesANotice() async throws {
        let (server, port) = try await startPythonServer("model_server.py")
        defer { server.stop() }
        let http = HTTPClient()
        defer { http.shutdown() }
        let client = fakeModelSession(port: port, http: http)
        let platform = InMemoryPlatform()
        let router = Router(configuration: RouterConfiguration(personas: [Harness.aria], defaultPersonas: ["aria"]),
                            model: client, store: try SQLiteStore.inMemory(), platforms: [platform], logger: Logger(label: "test"))
        let running = Task {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { try? await platform.run() }
                group.addTask { try? await router.run() }
            }
        }
        let channel = platform.channel("lobby")
        platform.post("Aria, hello there", by: alice, in: channel)
        try await eventually("echo reply") { platform.sentMessages.last?.text == "You said: Aria, hello there" }

        platform.post(#"Aria <<fake {"tokens": ["Half ", "a ", "reply"], "error_after": 2}>>"#, by: bob, in: channel)
        try await eventually("interrupted reply") { platform.sentMessages.count == 2 && platform.sentMessages[1].text.contains("(reply interrupted") }
        #expect(platform.sentMessages[1].text.hasPrefix("Half a \n\n(reply interrupted: "))
        platform.stop()
        await running.value
    }
}

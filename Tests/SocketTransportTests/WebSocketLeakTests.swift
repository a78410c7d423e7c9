import PBTestSupport
import Testing
@testable import SocketTransport

@Suite("WebSocket resource use")
struct WebSocketLeakTests {
    /// Every cycle connects, echoes and closes; the RSS these cycles leave is measured by `pb-bench memory`.
    @Test("2,000 connect/echo/close cycles all succeed")
    func connectCloseCycles() async throws {
        let (server, base) = try await startWebSocketServer()
        defer { server.stop() }
        let completed = try await withTimeout(120, "2,000 cycles") { () -> Int in
            var completed = 0
            for cycle in 1...2000 {
                let socket = try await WebSocket.connect(url: base + "/echo", logger: testLogger)
                try await socket.send(text: "cycle \(cycle)")
                var iterator = socket.messages.makeAsyncIterator()
                let echo = try await nextMessage(&iterator)
                if echo != .text("cycle \(cycle)") { throw TimedOut(what: "wrong echo in cycle \(cycle)") }
                await socket.close()
                completed += 1
            }
            return completed
        }
        #expect(completed == 2000)
    }
}

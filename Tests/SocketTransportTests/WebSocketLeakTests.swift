import PBTestSupport
import Testing
@testable import SocketTransport

@Suite("WebSocket resource use")
struct WebSocketLeakTests {
    @Test("RSS after 2,000 connect/close cycles stays within 10 MB of RSS after the first 500")
    func connectCloseCycles() async throws {
        let (server, base) = try await startWebSocketServer()
        defer { server.stop() }
        let (baseline, final) = try await withTimeout(120, "2,000 cycles") { () -> (Int, Int) in
            var baseline = 0
            for cycle in 1...2000 {
                let socket = try await WebSocket.connect(url: base + "/echo", logger: testLogger)
                try await socket.send(text: "cycle \(cycle)")
                var iterator = socket.messages.makeAsyncIterator()
                let echo = try await nextMessage(&iterator)
                if echo != .text("cycle \(cycle)") { throw TimedOut(what: "wrong echo in cycle \(cycle)") }
                await socket.close()
                if cycle == 500 { baseline = residentBytes() }
            }
            return (baseline, residentBytes())
        }
        #expect(baseline > 0)
        #expect(final - baseline < 10_000_000, "RSS grew from \(baseline) to \(final) bytes")
        print("websocket cycles: RSS \(baseline / 1024) KiB after 500, \(final / 1024) KiB after 2000")
    }
}

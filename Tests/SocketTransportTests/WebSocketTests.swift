import Foundation
import PBTestSupport
import Testing
@testable import SocketTransport

@Suite("WebSocket over libwebsockets")
struct WebSocketTests {
    @Test("1 MiB binary and 1 MiB text echo")
    func largeEcho() async throws {
        let (server, base) = try await startWebSocketServer()
        defer { server.stop() }
        try await withTimeout(30, "large echo") {
            let socket = try await WebSocket.connect(url: base + "/echo", logger: testLogger)
            let binary = patternBytes(1 << 20)
            let text = String(repeating: "héllo wörld ✓ ", count: (1 << 20) / 18)
            try await socket.send(binary: binary)
            try await socket.send(text: text)
            var iterator = socket.messages.makeAsyncIterator()
            #expect(try await nextMessage(&iterator) == .binary(binary))
            #expect(try await nextMessage(&iterator) == .text(text))
            await socket.close()
        }
    }

    @Test("fragmented messages are reassembled (with pings between fragments)")
    func fragments() async throws {
        let (server, base) = try await startWebSocketServer()
        defer { server.stop() }
        try await withTimeout(20, "fragments") {
            let socket = try await WebSocket.connect(url: base + "/fragment?parts=7", logger: testLogger)
            let text = String(repeating: "fragmented ✓ text; ", count: 5000)
            let binary = patternBytes(200_001)
            try await socket.send(text: text)
            try await socket.send(binary: binary)
            try await socket.send(text: "x")
            var iterator = socket.messages.makeAsyncIterator()
            #expect(try await nextMessage(&iterator) == .text(text))
            #expect(try await nextMessage(&iterator) == .binary(binary))
            #expect(try await nextMessage(&iterator) == .text("x"))
            await socket.close()
        }
    }

    @Test("a server close with 4000 and a reason is reported exactly")
    func serverClose() async throws {
        let (server, base) = try await startWebSocketServer()
        defer { server.stop() }
        let error = try await withTimeout(20, "server close") { () -> WebSocketError? in
            let socket = try await WebSocket.connect(
                url: base + "/close?code=4000&reason=going%20away%20now", logger: testLogger)
            try await socket.send(text: "trigger")
            do {
                for try await _ in socket.messages {}
                return nil
            } catch let error as WebSocketError {
                return error
            }
        }
        #expect(error?.code == .closed)
        #expect(error?.closeCode == 4000)
        #expect(error?.closeReason == "going away now")
    }

    @Test("a dropped TCP connection is reported as an error, not a hang")
    func droppedConnection() async throws {
        let (server, base) = try await startWebSocketServer()
        defer { server.stop() }
        let error = try await withTimeout(20, "drop") { () -> WebSocketError? in
            let socket = try await WebSocket.connect(url: base + "/drop", logger: testLogger)
            try await socket.send(text: "trigger")
            do {
                for try await _ in socket.messages {}
                return nil
            } catch let error as WebSocketError {
                return error
            }
        }
        #expect(error?.code == .connectionDropped)
        #expect(error?.closeCode == nil)
    }

    @Test("our close ends the message stream normally and later sends fail")
    func clientClose() async throws {
        let (server, base) = try await startWebSocketServer()
        defer { server.stop() }
        try await withTimeout(20, "client close") {
            let socket = try await WebSocket.connect(url: base + "/echo", logger: testLogger)
            try await socket.send(text: "before close")
            await socket.close(code: 1000, reason: "bye")
            var received: [WebSocketMessage] = []
            for try await message in socket.messages { received.append(message) }
            #expect(received.count <= 1)
            await #expect(throws: WebSocketError.self) { try await socket.send(text: "after close") }
        }
    }

    @Test("sends from 20 concurrent tasks all arrive, in order per task")
    func concurrentSenders() async throws {
        let (server, base) = try await startWebSocketServer()
        defer { server.stop() }
        let perTask = 200
        try await withTimeout(30, "concurrent senders") {
            let socket = try await WebSocket.connect(url: base + "/echo", logger: testLogger)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for task in 0..<20 {
                    group.addTask {
                        for index in 0..<perTask { try await socket.send(text: "\(task):\(index)") }
                    }
                }
                try await group.waitForAll()
            }
            var next = [Int](repeating: 0, count: 20)
            var total = 0
            for try await message in socket.messages {
                guard case .text(let text) = message else {
                    Issue.record("unexpected binary message")
                    break
                }
                let parts = text.split(separator: ":").compactMap { Int($0) }
                #expect(parts.count == 2)
                guard parts.count == 2 else { break }
                #expect(parts[1] == next[parts[0]], "task \(parts[0]) out of order")
                next[parts[0]] = parts[1] + 1
                total += 1
                if total == 20 * perTask { break }
            }
            #expect(next == [Int](repeating: perTask, count: 20))
            await socket.close()
        }
    }

    @Test("100 concurrent websockets in one process complete correctly")
    func hundredSockets() async throws {
        let (server, base) = try await startWebSocketServer()
        defer { server.stop() }
        let results = try await withTimeout(60, "100 sockets") {
            try await withThrowingTaskGroup(of: Bool.self) { group in
                for index in 0..<100 {
                    group.addTask {
                        let socket = try await WebSocket.connect(url: base + "/echo?id=\(index)", logger: testLogger)
                        var iterator = socket.messages.makeAsyncIterator()
                        var ok = true
                        for round in 0..<10 {
                            let payload = "socket \(index) round \(round)"
                            try await socket.send(text: payload)
                            ok = try await nextMessage(&iterator) == .text(payload) && ok
                        }
                        await socket.close()
                        return ok
                    }
                }
                var all: [Bool] = []
                for try await result in group { all.append(result) }
                return all
            }
        }
        #expect(results.count == 100)
        #expect(results.allSatisfy { $0 })
    }

    @Test("handshake headers, path and query reach the server")
    func headersAndQuery() async throws {
        let (server, base) = try await startWebSocketServer()
        defer { server.stop() }
        let text = try await withTimeout(20, "headers") { () -> String in
            let socket = try await WebSocket.connect(
                url: base + "/headers?v=10&encoding=json", headers: [("Authorization", "Bot abc"), ("X-Test", "1")],
                logger: testLogger)
            var iterator = socket.messages.makeAsyncIterator()
            let message = try await nextMessage(&iterator)
            await socket.close()
            guard case .text(let text) = message else { return "" }
            return text
        }
        #expect(text.hasPrefix("GET /headers?v=10&encoding=json HTTP/1.1"))
        #expect(text.contains("authorization: Bot abc"))
        #expect(text.contains("x-test: 1"))
    }

    @Test("wss:// works with the test CA and fails verification without it")
    func tlsVerification() async throws {
        let (server, base) = try await startWebSocketServer(tls: true)
        defer { server.stop() }
        try await withTimeout(20, "wss") {
            let socket = try await WebSocket.connect(
                url: base + "/echo", configuration: .init(caFile: testCAFile), logger: testLogger)
            try await socket.send(text: "secure hello")
            var iterator = socket.messages.makeAsyncIterator()
            #expect(try await nextMessage(&iterator) == .text("secure hello"))
            await socket.close()
        }
        let failure = try await withTimeout(20, "wss without CA") { () -> WebSocketError? in
            do {
                let socket = try await WebSocket.connect(url: base + "/echo", logger: testLogger)
                await socket.close()
                return nil
            } catch let error as WebSocketError {
                return error
            }
        }
        #expect(failure != nil, "connecting without the test CA must fail verification")
        #expect(failure?.code == .tlsFailure, "\(String(describing: failure))")
        try await withTimeout(20, "wss insecure") {
            let socket = try await WebSocket.connect(
                url: base + "/echo", configuration: .init(verifyTLS: false), logger: testLogger)
            try await socket.send(text: "insecure hello")
            var iterator = socket.messages.makeAsyncIterator()
            #expect(try await nextMessage(&iterator) == .text("insecure hello"))
            await socket.close()
        }
    }

    @Test("connect failures are typed errors")
    func connectFailures() async throws {
        await #expect(throws: WebSocketError.self) {
            _ = try await WebSocket.connect(url: "http://example.invalid/", logger: testLogger)
        }
        let refusing = try RefusingPort()
        defer { withExtendedLifetime(refusing) {} }
        let port = refusing.port
        let error = try await withTimeout(30, "refused") { () -> WebSocketError? in
            do {
                _ = try await WebSocket.connect(url: "ws://127.0.0.1:\(port)/", logger: testLogger)
                return nil
            } catch let error as WebSocketError {
                return error
            }
        }
        #expect(error?.code == .connectFailed)
    }

    @Test("receive throughput of 1 KiB messages (printed, not asserted)")
    func blastThroughput() async throws {
        let (server, base) = try await startWebSocketServer()
        defer { server.stop() }
        let count = 100_000
        let result = try await withTimeout(60, "blast") {
            try await WebSocket.measureReceiveThroughput(
                url: base + "/blast?n=\(count)&size=1024", clock: ContinuousClock(), logger: testLogger)
        }
        #expect(result.messages == count)
        #expect(result.bytes == count * 1024)
        print("websocket receive (1 KiB messages): \(result)")
    }
}

import Foundation
import Logging
import SocketTransport

/// WebSocket throughput, 1 KiB text messages, each direction, on the one libwebsockets service thread.
enum WebSocketBenchmark {
    static func run(port: Int) async throws {
        let logger = Logger(label: "pb-bench")
        let count = 100_000

        // Receive: the server writes pre-encoded frames as fast as the socket takes them.
        var start = ContinuousClock.now
        let blast = try await WebSocket.connect(url: "ws://127.0.0.1:\(port)/blast?n=\(count)&size=1024", logger: logger)
        var received = 0
        do {
            for try await message in blast.messages {
                if case .text(let text) = message, text.utf8.count == 1024 { received += 1 }
            }
        } catch let error as WebSocketError {
            // The server ends with close 1000 after the last frame; anything else is a failure.
            guard error.closeCode == 1000 else { throw error }
        }
        precondition(received == count, "WebSocket receive: expected \(count) messages, got \(received)")
        TransportBenchmark.report("WebSocket received (1 KiB)", count: received, since: start, unit: "msgs/s")

        // Send: the server counts frames and answers "done N" after the last one.
        let sink = try await WebSocket.connect(url: "ws://127.0.0.1:\(port)/sink?n=\(count)", logger: logger)
        let payload = String(repeating: "y", count: 1024)
        start = ContinuousClock.now
        for _ in 0..<count {
            // The socket queues at most 64 MiB; when it is full, let the service thread drain it.
            while true {
                do {
                    try await sink.send(text: payload)
                    break
                } catch let error as WebSocketError where error.code == .sendQueueFull {
                    // Backoff while the send queue is full (the load generator's pacing).
                    try await Task.sleep(for: .milliseconds(1))
                }
            }
        }
        var acknowledged = false
        for try await message in sink.messages {
            if case .text(let text) = message, text == "done \(count)" {
                acknowledged = true
                break
            }
        }
        precondition(acknowledged, "WebSocket send: the server did not count \(count) messages")
        TransportBenchmark.report("WebSocket sent (1 KiB)", count: count, since: start, unit: "msgs/s")
        await sink.close()
    }
}

import Logging

/// What a receive-throughput run measured.
public struct WebSocketThroughput: Sendable, CustomStringConvertible {
    /// Messages received.
    public let messages: Int
    /// Payload bytes received.
    public let bytes: Int
    /// Time from the first message to the end of the stream.
    public let elapsed: Duration

    /// Messages per second.
    public var messagesPerSecond: Double {
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return seconds > 0 ? Double(messages) / seconds : 0
    }

    /// A one-line summary.
    public var description: String {
        "\(messages) messages, \(bytes) bytes in \(elapsed): \(Int(messagesPerSecond)) msgs/s"
    }
}

extension WebSocket {
    /// Connects to `url` (a server that sends messages and then closes with 1000, e.g. ws_server.py's
    /// `/blast?n=100000&size=1024`) and measures how fast messages arrive. For benchmarks, not tests.
    public static func measureReceiveThroughput(
        url: String, configuration: WebSocketConfiguration = .init(), clock: any Clock<Duration>, logger: Logger
    ) async throws -> WebSocketThroughput {
        try await measure(url: url, configuration: configuration, clock: clock, logger: logger)
    }

    private static func measure<C: Clock<Duration>>(
        url: String, configuration: WebSocketConfiguration, clock: C, logger: Logger
    ) async throws -> WebSocketThroughput {
        let socket = try await connect(url: url, configuration: configuration, logger: logger)
        var messages = 0
        var bytes = 0
        var start: C.Instant?
        do {
            for try await message in socket.messages {
                if start == nil { start = clock.now }
                messages += 1
                switch message {
                case .binary(let payload): bytes += payload.count
                case .text(let text): bytes += text.utf8.count
                }
            }
        } catch let error as WebSocketError where error.code == .closed && error.closeCode == 1000 {}
        let elapsed = start.map { $0.duration(to: clock.now) } ?? .zero
        return WebSocketThroughput(messages: messages, bytes: bytes, elapsed: elapsed)
    }
}

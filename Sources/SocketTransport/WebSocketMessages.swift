/// A websocket's incoming messages; taking one tells the connection, which reads the socket again once the
/// reader has caught up (see `WebSocketConfiguration.maxQueuedReceiveBytes`).
public struct WebSocketMessages: AsyncSequence, Sendable {
    /// Messages, in arrival order.
    public typealias Element = WebSocketMessage

    let inbox: WebSocketInbox
    let connection: WebSocketConnection

    init(_ inbox: WebSocketInbox, connection: WebSocketConnection) {
        self.inbox = inbox
        self.connection = connection
    }

    /// Iterates the messages; ends by throwing `WebSocketError` as `WebSocket` describes.
    public struct AsyncIterator: AsyncIteratorProtocol {
        let inbox: WebSocketInbox
        let connection: WebSocketConnection

        /// The next message, or nil after our own close.
        public mutating func next() async throws -> WebSocketMessage? {
            guard let message = try await inbox.next() else { return nil }
            switch message {
            case .binary(let bytes): connection.consumed(bytes.count)
            case .text(let text): connection.consumed(text.utf8.count)
            }
            return message
        }

        /// Replaces `frames` with every message received and not yet taken, waiting while there is none; false
        /// after our own close. Ends by throwing as `next()` does. `frames`' emptied buffer is reused for the
        /// messages that come next, so a reader that keeps one `WebSocketFrames` allocates nothing per message.
        public mutating func next(_ frames: inout WebSocketFrames) async throws -> Bool {
            guard try await inbox.next(&frames) else { return false }
            connection.consumed(frames.byteCount)
            return true
        }
    }

    /// Whether a received message is queued: the next step of the iteration will not wait for the network.
    public var hasQueuedMessages: Bool { inbox.hasMessages }

    /// Starts iterating; iterate from one task only.
    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(inbox: inbox, connection: connection)
    }
}

/// One complete (reassembled) websocket message.
public enum WebSocketMessage: Hashable, Sendable {
    /// A text message, validated as UTF-8.
    case text(String)
    /// A binary message.
    case binary([UInt8])
}

/// A websocket failure or the end of a connection, with the peer's close code when it sent one.
public struct WebSocketError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        /// The code's name.
        public let name: String
        private init(_ name: String) { self.name = name }
        /// The URL could not be parsed or is not ws:// or wss://.
        public static let invalidURL = Code("invalidURL")
        /// TCP connect or the HTTP upgrade failed.
        public static let connectFailed = Code("connectFailed")
        /// The TLS handshake or certificate verification failed.
        public static let tlsFailure = Code("tlsFailure")
        /// The server sent a close frame; see `closeCode` and `closeReason`.
        public static let closed = Code("closed")
        /// The connection ended without a close frame.
        public static let connectionDropped = Code("connectionDropped")
        /// An incoming message exceeded the configured maximum size.
        public static let messageTooLarge = Code("messageTooLarge")
        /// An incoming text message was not valid UTF-8.
        public static let invalidUTF8 = Code("invalidUTF8")
        /// A send was attempted after close, or on a failed connection.
        public static let notOpen = Code("notOpen")
        /// Too many bytes are queued for sending.
        public static let sendQueueFull = Code("sendQueueFull")
        /// The connecting task was cancelled.
        public static let cancelled = Code("cancelled")
        /// The name.
        public var description: String { name }
    }

    /// What kind of failure this is.
    public let code: Code
    /// Details for logs.
    public let message: String
    /// The URL (or host:port) of the connection.
    public let url: String
    /// The close code the server sent (only for `.closed`).
    public let closeCode: UInt16?
    /// The close reason the server sent (only for `.closed`).
    public let closeReason: String?

    /// Creates an error.
    public init(code: Code, message: String, url: String, closeCode: UInt16? = nil, closeReason: String? = nil) {
        self.code = code
        self.message = message
        self.url = url
        self.closeCode = closeCode
        self.closeReason = closeReason
    }

    /// A one-line summary.
    public var description: String {
        var text = "WebSocketError.\(code) (\(url)): \(message)"
        if let closeCode { text += " [close \(closeCode) \"\(closeReason ?? "")\"]" }
        return text
    }
}

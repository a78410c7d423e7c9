/// A line-socket failure, with the endpoint it concerns.
public struct LineSocketError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        /// The code's name.
        public let name: String
        private init(_ name: String) { self.name = name }
        /// TCP connect failed.
        public static let connectFailed = Code("connectFailed")
        /// The TLS handshake or certificate verification failed.
        public static let tlsFailure = Code("tlsFailure")
        /// The connection ended (peer closed or network failure).
        public static let connectionDropped = Code("connectionDropped")
        /// A line grew past the maximum length without a terminator.
        public static let lineTooLong = Code("lineTooLong")
        /// A send was attempted after close.
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
    /// `host:port` of the connection.
    public let endpoint: String

    /// Creates an error.
    public init(code: Code, message: String, endpoint: String) {
        self.code = code
        self.message = message
        self.endpoint = endpoint
    }

    /// A one-line summary.
    public var description: String { "LineSocketError.\(code) (\(endpoint)): \(message)" }
}

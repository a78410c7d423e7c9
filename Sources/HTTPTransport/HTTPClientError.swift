/// An error from `HTTPClient`; HTTP error statuses are responses, not errors.
public struct HTTPClientError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }

        /// The connection (TCP and TLS handshake) was not established in time.
        public static let connectTimeout = Code("connectTimeout")
        /// No bytes moved for longer than the idle limit.
        public static let idleTimeout = Code("idleTimeout")
        /// The whole transfer took longer than the total limit.
        public static let totalTimeout = Code("totalTimeout")
        /// The host could not be resolved or refused the connection.
        public static let connectFailed = Code("connectFailed")
        /// TLS failed: untrusted certificate, bad CA file, handshake error.
        public static let tlsFailure = Code("tlsFailure")
        /// The caller cancelled the request or dropped the response.
        public static let cancelled = Code("cancelled")
        /// The body exceeded the size cap given to `collect(upTo:)`.
        public static let bodyTooLarge = Code("bodyTooLarge")
        /// The URL is malformed or not http/https.
        public static let invalidURL = Code("invalidURL")
        /// The client was shut down.
        public static let shutdown = Code("shutdown")
        /// Any other transport failure (connection reset, protocol error, ...).
        public static let transport = Code("transport")
        /// The request itself is invalid, e.g. a header containing a line break.
        public static let invalidRequest = Code("invalidRequest")

        /// The code's name.
        public var description: String { name }
    }

    /// What kind of failure this is.
    public let code: Code
    /// A human-readable explanation (curl's message where there is one).
    public let message: String
    /// The request URL, if known.
    public let url: String?
    /// The libcurl `CURLcode`, if the failure came from curl.
    public let curlCode: Int?

    /// Creates an error.
    public init(code: Code, message: String, url: String? = nil, curlCode: Int? = nil) {
        self.code = code
        self.message = message
        self.url = url
        self.curlCode = curlCode
    }

    /// `HTTPClientError.<code>: <message> (<url>)`.
    public var description: String {
        var text = "HTTPClientError.\(code): \(message)"
        if let url { text += " (\(url))" }
        if let curlCode { text += " [curl \(curlCode)]" }
        return text
    }
}

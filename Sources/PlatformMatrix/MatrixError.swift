import BridgeCore

/// A failed Matrix operation: our code, the homeserver's `errcode` and HTTP status when there was a response.
public struct MatrixError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Error kind.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        /// Raw name.
        public let raw: String
        /// Creates a code.
        public init(_ raw: String) { self.raw = raw }
        /// The access token is no longer valid (`M_UNKNOWN_TOKEN`); the adapter stops.
        public static let unknownToken = Code("unknownToken")
        /// 429 `M_LIMIT_EXCEEDED` that outlasted the retries.
        public static let rateLimited = Code("rateLimited")
        /// The homeserver answered with an error.
        public static let server = Code("server")
        /// The network or the HTTP transport failed.
        public static let transport = Code("transport")
        /// The response could not be understood.
        public static let badResponse = Code("badResponse")
        /// Login failed or was not configured.
        public static let login = Code("login")
        /// The configuration is unusable.
        public static let configuration = Code("configuration")
        /// The name, for logs.
        public var description: String { raw }
    }

    /// Error kind.
    public var code: Code
    /// What happened.
    public var message: String
    /// HTTP status, when the server answered.
    public var status: Int?
    /// Matrix `errcode`, when the server sent one.
    public var errcode: String?
    /// What the request was, e.g. `PUT /rooms/…/send`.
    public var request: String?
    /// For 429: how long the server asked to wait.
    public var retryAfter: Duration?

    /// Creates an error.
    public init(_ code: Code, _ message: String, status: Int? = nil, errcode: String? = nil, request: String? = nil) {
        self.code = code
        self.message = message
        self.status = status
        self.errcode = errcode
        self.request = request
    }

    /// Readable form for logs.
    public var description: String {
        var s = "MatrixError(\(code)): \(message)"
        if let status { s += " [HTTP \(status)" + (errcode.map { " \($0)" } ?? "") + "]" }
        if let request { s += " during \(request)" }
        return s
    }

    /// Whether retrying later may succeed (network trouble, 5xx, 429).
    public var isTransient: Bool {
        switch code {
        case .transport, .rateLimited: return true
        case .server: return (status ?? 0) >= 500 || status == 429
        default: return false
        }
    }
}

extension MatrixError: PlatformConfigurationError {
    /// A rejected token or a refused login stops the adapter until the configuration changes.
    public var stopsForGood: Bool { code == .unknownToken || code == .login }
}

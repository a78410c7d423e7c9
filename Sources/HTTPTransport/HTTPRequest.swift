/// Time limits for one request.
public struct HTTPTimeouts: Sendable, Hashable {
    /// Limit for establishing the connection, TLS handshake included.
    public var connect: Duration
    /// Limit for the whole transfer, body included; nil means none.
    public var total: Duration?
    /// Limit for a stretch with no bytes received or sent; nil means none.
    public var idle: Duration?

    /// Creates timeouts; only `connect` is set by default.
    public init(connect: Duration = .seconds(10), total: Duration? = nil, idle: Duration? = nil) {
        self.connect = connect
        self.total = total
        self.idle = idle
    }
}

/// One HTTP request: method, URL, headers, optional body and time limits.
public struct HTTPRequest: Sendable {
    /// The request method.
    public var method: HTTPMethod
    /// The absolute `http://` or `https://` URL.
    public var url: String
    /// Request header fields.
    public var headers: HTTPHeaders
    /// The request body, if any.
    public var body: [UInt8]?
    /// Time limits.
    public var timeouts: HTTPTimeouts

    /// Creates a request.
    public init(
        method: HTTPMethod = .get, url: String, headers: HTTPHeaders = [:], body: [UInt8]? = nil,
        timeouts: HTTPTimeouts = .init()
    ) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeouts = timeouts
    }
}

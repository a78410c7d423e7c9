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

    /// `HTTPClientError.<code>: <message> (<redacted url>)`: the URL as a route template, never its secrets.
    public var description: String {
        var text = "HTTPClientError.\(code): \(message)"
        if let url { text += " (\(Self.redacted(url)))" }
        if let curlCode { text += " [curl \(curlCode)]" }
        return text
    }

    /// `url` as a template safe to log: no query or fragment (`access_token=`), numeric ids as `{id}`, the segment
    /// after a webhook or interaction id as `{token}`, and any other long opaque segment as `{secret}`.
    public static func redacted(_ url: String) -> String {
        var rest = Substring(url)
        if let cut = rest.firstIndex(where: { $0 == "?" || $0 == "#" }) { rest = rest[..<cut] }
        var origin = ""
        if let scheme = rest.range(of: "://") {
            let afterScheme = rest[scheme.upperBound...]
            let hostEnd = afterScheme.firstIndex(of: "/") ?? afterScheme.endIndex
            // Drop any user:password@ before the host.
            let host = afterScheme[..<hostEnd].split(separator: "@").last.map(String.init) ?? ""
            origin = rest[..<scheme.upperBound] + host
            rest = afterScheme[hostEnd...]
        }
        var segments: [String] = []
        var tokenNext = false
        for segment in rest.split(separator: "/", omittingEmptySubsequences: false) {
            if tokenNext, !segment.isEmpty {
                segments.append("{token}")
                tokenNext = false
                continue
            }
            if !segment.isEmpty, segment.allSatisfy(\.isNumber) {
                segments.append("{id}")
                let owner = segments.count >= 2 ? segments[segments.count - 2] : ""
                tokenNext = owner == "webhooks" || owner == "interactions"
                continue
            }
            tokenNext = false
            segments.append(segment.count >= 24 ? "{secret}" : String(segment))
        }
        return origin + segments.joined(separator: "/")
    }
}

import BridgeCore

/// A failed Discord REST call, with the route (never the token or body) for context.
public struct DiscordRESTError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Failure kind.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let raw: String
        /// 401: the token is wrong or revoked.
        public static let unauthorized = Code(raw: "unauthorized")
        /// 403: the bot lacks a permission.
        public static let forbidden = Code(raw: "forbidden")
        /// 404: unknown channel, message, webhook or interaction.
        public static let notFound = Code(raw: "notFound")
        /// Another 4xx (e.g. 400 invalid form body).
        public static let badRequest = Code(raw: "badRequest")
        /// 5xx after all retries.
        public static let serverError = Code(raw: "serverError")
        /// Still rate limited after all retries.
        public static let rateLimited = Code(raw: "rateLimited")
        /// Too many invalid requests recently; requests are held back to avoid a ban.
        public static let invalidRequestGuard = Code(raw: "invalidRequestGuard")
        /// The HTTP transport failed.
        public static let transport = Code(raw: "transport")
        /// The response body was not what the route returns.
        public static let invalidResponse = Code(raw: "invalidResponse")
        /// The raw code name.
        public var description: String { raw }
    }
    /// Failure kind.
    public let code: Code
    /// HTTP status, when a response arrived.
    public let status: Int?
    /// `METHOD /template`.
    public let route: String
    /// Discord's JSON error code, when given.
    public let discordCode: Int?
    /// Discord's message or the transport's, without secrets.
    public let message: String

    /// Creates an error.
    public init(code: Code, status: Int?, route: String, discordCode: Int? = nil, message: String) {
        self.code = code
        self.status = status
        self.route = route
        self.discordCode = discordCode
        self.message = message
    }

    /// A one-line summary.
    public var description: String {
        "DiscordRESTError.\(code) \(route)\(status.map { " status \($0)" } ?? "")\(discordCode.map { " (Discord code \($0))" } ?? ""): \(message)"
    }
}

extension DiscordRESTError: PlatformConfigurationError {
    /// A 401 means the token is wrong; nothing else here is fixed by changing the configuration.
    public var stopsForGood: Bool { code == .unauthorized }
}

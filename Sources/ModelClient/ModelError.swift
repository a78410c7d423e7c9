/// The one error type a `ChatModel` stream throws, with enough context to tell a user what to fix.
public struct ModelError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of failure this is; compare with the static members.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case invalidParameter, invalidConfiguration, missingAPIKey
            case badRequest, roleRejected, unauthorized, paymentRequired, forbidden, notFound
            case rateLimited, timeout, idleTimeout, serverError, providerError
            case truncated, connectFailed, transport, invalidResponse, cancelled
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// A request parameter is out of range (checked before sending).
        public static let invalidParameter = Code(.invalidParameter)
        /// The client configuration is unusable (e.g. a bad base URL).
        public static let invalidConfiguration = Code(.invalidConfiguration)
        /// No API key could be found.
        public static let missingAPIKey = Code(.missingAPIKey)
        /// HTTP 400 for a reason other than a rejected role.
        public static let badRequest = Code(.badRequest)
        /// HTTP 400 rejecting an M2-her role (and folding was not possible or also failed).
        public static let roleRejected = Code(.roleRejected)
        /// HTTP 401: the API key is wrong or revoked.
        public static let unauthorized = Code(.unauthorized)
        /// HTTP 402: out of credits.
        public static let paymentRequired = Code(.paymentRequired)
        /// HTTP 403: the key may not use this model or endpoint.
        public static let forbidden = Code(.forbidden)
        /// HTTP 404: unknown model or endpoint.
        public static let notFound = Code(.notFound)
        /// HTTP 429 on every attempt.
        public static let rateLimited = Code(.rateLimited)
        /// HTTP 408 or a connect/total timeout on every attempt.
        public static let timeout = Code(.timeout)
        /// No bytes arrived for longer than the idle timeout.
        public static let idleTimeout = Code(.idleTimeout)
        /// HTTP 5xx (on every attempt, or after the first token).
        public static let serverError = Code(.serverError)
        /// The provider reported an error inside a 200 response (`error` object, `base_resp`).
        public static let providerError = Code(.providerError)
        /// The stream ended without `[DONE]` or a finish reason.
        public static let truncated = Code(.truncated)
        /// The connection could not be established.
        public static let connectFailed = Code(.connectFailed)
        /// Another transport failure (TLS, reset, ...).
        public static let transport = Code(.transport)
        /// The response could not be understood.
        public static let invalidResponse = Code(.invalidResponse)
        /// The consumer cancelled the request.
        public static let cancelled = Code(.cancelled)

        /// The code's name, e.g. `truncated`.
        public var description: String { base.rawValue }
    }

    /// What kind of failure this is.
    public let code: Code
    /// A human-readable explanation that says what to fix.
    public let message: String
    /// The text streamed before the failure (empty if none).
    public let partialText: String
    /// The HTTP status, when the failure came from a response.
    public let status: Int?
    /// The provider that was being called, when known.
    public let provider: ModelProvider?
    /// The provider's own error code (`error.code`, `base_resp.status_code`), when given.
    public let providerCode: String?
    /// How many HTTP attempts were made.
    public let attempts: Int

    /// Creates an error.
    public init(
        code: Code, message: String, partialText: String = "", status: Int? = nil,
        provider: ModelProvider? = nil, providerCode: String? = nil, attempts: Int = 0
    ) {
        self.code = code
        self.message = message
        self.partialText = partialText
        self.status = status
        self.provider = provider
        self.providerCode = providerCode
        self.attempts = attempts
    }

    /// Whether any text reached the consumer before the failure.
    public var hasPartialText: Bool { !partialText.isEmpty }

    /// `ModelError(code): message [context]`; never contains secrets.
    public var description: String {
        var context: [String] = []
        if let provider { context.append("provider \(provider.rawValue)") }
        if let status { context.append("HTTP \(status)") }
        if let providerCode { context.append("provider code \(providerCode)") }
        if attempts > 1 { context.append("\(attempts) attempts") }
        if !partialText.isEmpty { context.append("\(partialText.count) characters received") }
        let suffix = context.isEmpty ? "" : " [\(context.joined(separator: ", "))]"
        return "ModelError(\(code)): \(message)\(suffix)"
    }

    /// A copy with other partial text, attempt count or provider context.
    func with(partialText: String? = nil, attempts: Int? = nil, provider: ModelProvider? = nil) -> ModelError {
        ModelError(
            code: code, message: message, partialText: partialText ?? self.partialText, status: status,
            provider: provider ?? self.provider, providerCode: providerCode, attempts: attempts ?? self.attempts)
    }
}

/// Everything a `ModelSession` needs to know about its provider.
public struct ModelClientConfiguration: Sendable {
    /// The API flavour.
    public var provider: ModelProvider
    /// The base URL, e.g. `https://openrouter.ai/api/v1`; the provider's path is appended.
    public var baseURL: String
    /// The model name sent when a request does not override it.
    public var model: String
    /// The key sent as `Authorization: Bearer`.
    public var apiKey: APIKey
    /// How extra M2-her roles are sent.
    public var dialect: RoleDialect
    /// Extra HTTP headers sent with every request.
    public var extraHeaders: [String: String]
    /// OpenRouter's optional `HTTP-Referer` (your app's URL).
    public var httpReferer: String?
    /// OpenRouter's optional `X-Title` (your app's name).
    public var appTitle: String?
    /// HTTP attempts per request, the first included (at least 1).
    public var maxAttempts: Int
    /// The first retry's backoff before jitter; doubles each retry.
    public var initialBackoff: Duration
    /// The longest backoff between attempts.
    public var maxBackoff: Duration
    /// The longest `Retry-After` honoured; a longer one fails the request instead of waiting.
    public var maxRetryAfter: Duration
    /// Connect timeout per attempt.
    public var connectTimeout: Duration
    /// Fails a request when no bytes arrive for this long.
    public var idleTimeout: Duration
    /// Caps a whole request, if set.
    public var totalTimeout: Duration?

    /// Creates a configuration; base URL and model default to the provider's.
    public init(
        provider: ModelProvider = .openrouter, baseURL: String? = nil, model: String? = nil, apiKey: APIKey,
        dialect: RoleDialect = .auto, extraHeaders: [String: String] = [:], httpReferer: String? = nil,
        appTitle: String? = nil, maxAttempts: Int = 3, initialBackoff: Duration = .milliseconds(500),
        maxBackoff: Duration = .seconds(20), maxRetryAfter: Duration = .seconds(60),
        connectTimeout: Duration = .seconds(10), idleTimeout: Duration = .seconds(60), totalTimeout: Duration? = nil
    ) {
        self.provider = provider
        self.baseURL = baseURL ?? provider.defaultBaseURL ?? ""
        self.model = model ?? provider.defaultModel ?? ""
        self.apiKey = apiKey
        self.dialect = dialect
        self.extraHeaders = extraHeaders
        self.httpReferer = httpReferer
        self.appTitle = appTitle
        self.maxAttempts = maxAttempts
        self.initialBackoff = initialBackoff
        self.maxBackoff = maxBackoff
        self.maxRetryAfter = maxRetryAfter
        self.connectTimeout = connectTimeout
        self.idleTimeout = idleTimeout
        self.totalTimeout = totalTimeout
    }

    /// The full completion URL: base URL plus the provider's path (unless already there).
    public var endpointURL: String {
        provider.endpointURL(baseURL: baseURL) ?? ""
    }

    /// Throws `invalidConfiguration` / `missingAPIKey` with a fix hint for the first problem.
    public func validate() throws(ModelError) {
        if baseURL.isEmpty {
            throw ModelError(
                code: .invalidConfiguration,
                message: "provider \(provider) needs a base URL: set base_url in the model section (e.g. https://host/v1).",
                provider: provider)
        }
        let lower = baseURL.lowercased()
        if !(lower.hasPrefix("http://") || lower.hasPrefix("https://")) {
            throw ModelError(
                code: .invalidConfiguration,
                message: "base URL '\(baseURL)' must start with http:// or https://.", provider: provider)
        }
        if model.isEmpty {
            throw ModelError(
                code: .invalidConfiguration,
                message: "provider \(provider) needs a model name: set model in the model section.", provider: provider)
        }
        if apiKey.isEmpty {
            throw ModelError(
                code: .missingAPIKey,
                message: "the API key from \(apiKey.source) is empty. Set \(apiKey.environmentVariable ?? provider.defaultAPIKeyEnvironmentVariable) to your \(provider) key.",
                provider: provider)
        }
        if maxAttempts < 1 {
            throw ModelError(
                code: .invalidConfiguration, message: "max attempts must be at least 1; got \(maxAttempts).",
                provider: provider)
        }
        if idleTimeout <= .zero || connectTimeout <= .zero {
            throw ModelError(
                code: .invalidConfiguration, message: "timeouts must be positive.", provider: provider)
        }
        for (name, value) in extraHeaders {
            let bad = name.isEmpty || name.contains(where: { $0 == ":" || $0.isWhitespace || $0.isNewline })
                || value.contains(where: \.isNewline)
            if bad {
                throw ModelError(
                    code: .invalidConfiguration,
                    message: "extra header '\(name)' is not a valid HTTP header (no colons, spaces or newlines in names, no newlines in values).",
                    provider: provider)
            }
        }
    }
}

import ModelClient

/// The `[model]` section: provider, endpoint, key and default sampling parameters.
public struct ModelSettings: Hashable, Sendable {
    /// Provider flavour (the model client's own type, which holds the defaults).
    public var provider: ModelProvider
    /// Base URL or full chat-completions endpoint; defaults per provider.
    public var baseURL: String?
    /// Model name; defaults per provider.
    public var model: String?
    /// Environment variable read for the key (default per provider).
    public var apiKeyEnv: String
    /// File read for the key instead of the environment, if set.
    public var apiKeyFile: String?
    /// The resolved key, if it was available at load time.
    public var apiKey: ConfigSecret?
    /// Role dialect.
    public var dialect: RoleDialect
    /// Extra HTTP headers sent with every request.
    public var extraHeaders: [String: String]
    /// OpenRouter `HTTP-Referer` header.
    public var httpReferer: String?
    /// OpenRouter `X-Title` header.
    public var xTitle: String?
    /// Attempts before the first token (retries on 429/408/5xx/connect failures).
    public var maxAttempts: Int
    /// Seconds without a byte before a stream is abandoned.
    public var idleTimeoutSeconds: Double
    /// Seconds allowed to connect.
    public var connectTimeoutSeconds: Double
    /// Default sampling parameters (layered under persona overrides).
    public var parameters: ModelOverrides

    /// Creates model settings.
    public init(
        provider: ModelProvider = .openrouter, baseURL: String? = nil, model: String? = nil,
        apiKeyEnv: String? = nil, apiKeyFile: String? = nil, apiKey: ConfigSecret? = nil,
        dialect: RoleDialect = .auto, extraHeaders: [String: String] = [:], httpReferer: String? = nil,
        xTitle: String? = nil, maxAttempts: Int = 3, idleTimeoutSeconds: Double = 60,
        connectTimeoutSeconds: Double = 10, parameters: ModelOverrides = .init()
    ) {
        self.provider = provider
        self.baseURL = baseURL
        self.model = model
        self.apiKeyEnv = apiKeyEnv ?? provider.defaultAPIKeyEnvironmentVariable
        self.apiKeyFile = apiKeyFile
        self.apiKey = apiKey
        self.dialect = dialect
        self.extraHeaders = extraHeaders
        self.httpReferer = httpReferer
        self.xTitle = xTitle
        self.maxAttempts = maxAttempts
        self.idleTimeoutSeconds = idleTimeoutSeconds
        self.connectTimeoutSeconds = connectTimeoutSeconds
        self.parameters = parameters
    }

    /// The chat-completions endpoint requests go to: `baseURL` or the provider default, with the provider's path.
    public var endpointURL: String? { provider.endpointURL(baseURL: baseURL) }
    /// `model` or the provider default.
    public var effectiveModel: String? { model ?? provider.defaultModel }
    /// Where the key is expected, for "set X" messages.
    public var apiKeyLocation: String { apiKeyFile.map { "file \($0)" } ?? "environment variable \(apiKeyEnv)" }
}

/// Which API flavour serves M2-her.
public struct ModelProvider: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
    /// The config spelling.
    public let rawValue: String
    /// Creates a provider from its config spelling; unknown values are kept.
    public init(rawValue: String) { self.rawValue = rawValue }

    /// OpenRouter (`max_tokens`, optional `HTTP-Referer` / `X-Title`).
    public static let openRouter = ModelProvider(rawValue: "openrouter")
    /// MiniMax OpenAI-compatible endpoint.
    public static let miniMax = ModelProvider(rawValue: "minimax")
    /// MiniMax native `chatcompletion_v2` endpoint.
    public static let miniMaxNative = ModelProvider(rawValue: "minimax-native")
    /// Any OpenAI-compatible endpoint, selected by `base_url`.
    public static let openAICompatible = ModelProvider(rawValue: "openai-compatible")

    /// Providers this build understands.
    public static let known: [ModelProvider] = [.openRouter, .miniMax, .miniMaxNative, .openAICompatible]
    /// Whether this is one of `known`.
    public var isKnown: Bool { Self.known.contains(self) }
    /// The config spelling.
    public var description: String { rawValue }

    /// Default base URL (the chat-completions endpoint), or nil when one must be configured.
    public var defaultBaseURL: String? {
        switch self {
        case .openRouter: "https://openrouter.ai/api/v1/chat/completions"
        case .miniMax: "https://api.minimax.io/v1/chat/completions"
        case .miniMaxNative: "https://api.minimax.io/v1/text/chatcompletion_v2"
        default: nil
        }
    }

    /// Default model name.
    public var defaultModel: String? {
        switch self {
        case .openRouter: "minimax/minimax-m2-her"
        case .miniMax, .miniMaxNative: "M2-her"
        default: nil
        }
    }

    /// Default environment variable holding the API key.
    public var defaultAPIKeyEnv: String {
        switch self {
        case .openRouter: "OPENROUTER_API_KEY"
        case .miniMax, .miniMaxNative: "MINIMAX_API_KEY"
        default: "MODEL_API_KEY"
        }
    }
}

/// How M2-her's extra roles are sent.
public struct ModelDialect: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
    /// The config spelling.
    public let rawValue: String
    /// Creates a dialect; unknown values are kept.
    public init(rawValue: String) { self.rawValue = rawValue }
    /// Send `user_system`, `group` and sample roles as-is.
    public static let native = ModelDialect(rawValue: "native")
    /// Fold the extra roles into the system text and `name` fields.
    public static let folded = ModelDialect(rawValue: "folded")
    /// Try native, fall back to folded after a role-rejecting 400 and remember it.
    public static let auto = ModelDialect(rawValue: "auto")
    /// Dialects this build understands.
    public static let known: [ModelDialect] = [.native, .folded, .auto]
    /// Whether this is one of `known`.
    public var isKnown: Bool { Self.known.contains(self) }
    /// The config spelling.
    public var description: String { rawValue }
}

/// The `[model]` section: provider, endpoint, key and default sampling parameters.
public struct ModelSettings: Hashable, Sendable {
    /// Provider flavour.
    public var provider: ModelProvider
    /// Endpoint URL; defaults per provider.
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
    public var dialect: ModelDialect
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
        provider: ModelProvider = .openRouter, baseURL: String? = nil, model: String? = nil,
        apiKeyEnv: String? = nil, apiKeyFile: String? = nil, apiKey: ConfigSecret? = nil,
        dialect: ModelDialect = .auto, extraHeaders: [String: String] = [:], httpReferer: String? = nil,
        xTitle: String? = nil, maxAttempts: Int = 3, idleTimeoutSeconds: Double = 60,
        connectTimeoutSeconds: Double = 10, parameters: ModelOverrides = .init()
    ) {
        self.provider = provider
        self.baseURL = baseURL
        self.model = model
        self.apiKeyEnv = apiKeyEnv ?? provider.defaultAPIKeyEnv
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

    /// `baseURL` or the provider default.
    public var effectiveBaseURL: String? { baseURL ?? provider.defaultBaseURL }
    /// `model` or the provider default.
    public var effectiveModel: String? { model ?? provider.defaultModel }
    /// Where the key is expected, for "set X" messages.
    public var apiKeyLocation: String { apiKeyFile.map { "file \($0)" } ?? "environment variable \(apiKeyEnv)" }
}

/// Which API flavour to speak; chosen in config.
public enum ModelProvider: String, Hashable, Sendable, CaseIterable, Codable, CustomStringConvertible {
    /// OpenRouter (the default).
    case openrouter = "openrouter"
    /// MiniMax's OpenAI-compatible `/chat/completions`.
    case minimax = "minimax"
    /// MiniMax's native `/text/chatcompletion_v2` with `base_resp` and sensitivity flags.
    case minimaxNative = "minimax-native"
    /// Any other OpenAI-compatible endpoint (a base URL is required).
    case openaiCompatible = "openai-compatible"

    /// The default base URL, or nil when the user must give one.
    public var defaultBaseURL: String? {
        switch self {
        case .openrouter: "https://openrouter.ai/api/v1"
        case .minimax, .minimaxNative: "https://api.minimax.io/v1"
        case .openaiCompatible: nil
        }
    }

    /// The default model name, or nil when the user must give one.
    public var defaultModel: String? {
        switch self {
        case .openrouter: "minimax/minimax-m2-her"
        case .minimax, .minimaxNative: "M2-her"
        case .openaiCompatible: nil
        }
    }

    /// The path appended to the base URL.
    public var completionPath: String {
        switch self {
        case .minimaxNative: "/text/chatcompletion_v2"
        default: "/chat/completions"
        }
    }

    /// The chat-completions endpoint for a configured base URL (or the default one): the base URL plus
    /// `completionPath`, unless it already ends with it; nil when there is neither.
    public func endpointURL(baseURL: String?) -> String? {
        guard var base = baseURL ?? defaultBaseURL, !base.isEmpty else { return nil }
        while base.hasSuffix("/") { base.removeLast() }
        if base.hasSuffix(completionPath) { return base }
        return base + completionPath
    }

    /// The conventional environment variable holding this provider's key.
    public var defaultAPIKeyEnvironmentVariable: String {
        switch self {
        case .openrouter: "OPENROUTER_API_KEY"
        case .minimax, .minimaxNative: "MINIMAX_API_KEY"
        case .openaiCompatible: "OPENAI_API_KEY"
        }
    }

    /// The JSON field carrying the output cap: MiniMax wants `max_completion_tokens`, others `max_tokens`.
    public var maxTokensField: String {
        switch self {
        case .minimax, .minimaxNative: "max_completion_tokens"
        case .openrouter, .openaiCompatible: "max_tokens"
        }
    }

    /// A readable name for messages.
    public var description: String { rawValue }
}

/// Token accounting reported by the provider.
public struct TokenUsage: Hashable, Sendable {
    /// Input tokens, cached ones included.
    public var promptTokens: Int
    /// Output tokens.
    public var completionTokens: Int
    /// Input tokens served from the provider's prompt cache, when reported.
    public var cachedTokens: Int?

    /// Creates a usage record.
    public init(promptTokens: Int, completionTokens: Int, cachedTokens: Int? = nil) {
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.cachedTokens = cachedTokens
    }

    /// Input plus output tokens.
    public var totalTokens: Int { promptTokens + completionTokens }
}

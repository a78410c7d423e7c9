/// Optional sampling parameters; unset values fall through to the next layer.
public struct ModelOverrides: Hashable, Sendable, Codable {
    /// Temperature in (0, 1].
    public var temperature: Double?
    /// Nucleus sampling in (0, 1].
    public var topP: Double?
    /// Output token cap, 1...2048.
    public var maxOutputTokens: Int?

    /// Creates overrides; nil means "inherit".
    public init(temperature: Double? = nil, topP: Double? = nil, maxOutputTokens: Int? = nil) {
        self.temperature = temperature
        self.topP = topP
        self.maxOutputTokens = maxOutputTokens
    }

    /// Returns `self` with unset values taken from `base`.
    public func layered(over base: ModelOverrides) -> ModelOverrides {
        ModelOverrides(
            temperature: temperature ?? base.temperature,
            topP: topP ?? base.topP,
            maxOutputTokens: maxOutputTokens ?? base.maxOutputTokens)
    }
}

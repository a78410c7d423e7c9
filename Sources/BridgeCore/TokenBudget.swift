import ModelClient

/// The prompt token budget and a conservative, self-calibrating token estimate.
public struct TokenBudget: Hashable, Sendable {
    /// M2-her's context window.
    public static let contextWindow = 65_536

    /// Tokens reserved for the reply.
    public var maxOutputTokens: Int
    /// Extra room for estimation error and provider framing.
    public var safetyMargin: Int
    /// Multiplier applied to the raw estimate, learned from `usage.prompt_tokens`; starts at 1.
    public private(set) var scale: Double = 1.0

    /// Creates a budget.
    public init(maxOutputTokens: Int = 2048, safetyMargin: Int = 1024) {
        self.maxOutputTokens = maxOutputTokens
        self.safetyMargin = safetyMargin
    }

    /// Prompt tokens available.
    public var promptLimit: Int { Self.contextWindow - maxOutputTokens - safetyMargin }

    /// Uncalibrated estimate: UTF-8 bytes / 3 (real tokenizers average ~4 bytes), plus framing per message.
    public static func rawEstimate(_ message: ChatMessage) -> Int {
        let bytes = message.content.utf8.count + (message.name?.utf8.count ?? 0) + message.role.rawValue.utf8.count
        return (bytes + 2) / 3 + 4
    }

    /// Uncalibrated estimate of several messages (plus the reply primer).
    public static func rawEstimate(_ messages: [ChatMessage]) -> Int {
        messages.reduce(3) { $0 + rawEstimate($1) }
    }

    /// Calibrated estimate of a raw estimate.
    public func tokens(forRaw raw: Int) -> Int {
        Int((Double(raw) * scale).rounded(.up))
    }

    /// Calibrated estimate of a prompt.
    public func estimate(_ messages: [ChatMessage]) -> Int {
        tokens(forRaw: Self.rawEstimate(messages))
    }

    /// Learns from a request whose raw estimate was `raw` and which the API counted as `promptTokens`.
    ///
    /// Smoothed, but never below the latest observation, so the estimate stays on the safe side.
    public mutating func calibrate(raw: Int, promptTokens: Int) {
        guard raw > 0, promptTokens > 0 else { return }
        let observed = Double(promptTokens) / Double(raw)
        let smoothed = 0.5 * scale + 0.5 * observed
        scale = min(4, max(0.25, max(observed, smoothed)))
    }
}

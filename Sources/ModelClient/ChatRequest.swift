/// One completion request: the conversation plus how to sample it.
public struct ChatRequest: Sendable, Hashable {
    /// The conversation in time order.
    public var messages: [ChatMessage]
    /// Overrides the configured model when set.
    public var model: String?
    /// Sampling parameters; validated before any network traffic.
    public var parameters: ModelParameters
    /// Stream tokens as they are produced (`true`) or fetch one JSON body (`false`).
    public var stream: Bool
    /// Log metadata for this request's lines, e.g. `platform` and `channel` (never secrets).
    public var logMetadata: [String: String]

    /// Creates a request.
    public init(
        messages: [ChatMessage], model: String? = nil, parameters: ModelParameters = ModelParameters(),
        stream: Bool = true, logMetadata: [String: String] = [:]
    ) {
        self.messages = messages
        self.model = model
        self.parameters = parameters
        self.stream = stream
        self.logMetadata = logMetadata
    }
}

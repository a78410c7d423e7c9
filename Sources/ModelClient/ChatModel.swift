/// Anything that turns a chat request into a stream of model events.
///
/// The stream throws `ModelError`; a consumer that stops iterating cancels the request.
public protocol ChatModel: Sendable {
    /// Starts the request; the returned stream yields events until finish or error.
    func stream(_ request: ChatRequest) -> AsyncThrowingStream<ModelEvent, Error>
}

extension ChatModel {
    /// Runs a request to completion and collects its text, finish reason and usage.
    public func complete(_ request: ChatRequest) async throws -> ChatCompletion {
        var completion = ChatCompletion()
        for try await event in stream(request) {
            switch event {
            case .delta(let text): completion.text += text
            case .finish(let reason): completion.finishReason = reason
            case .usage(let usage): completion.usage = usage
            }
        }
        return completion
    }
}

/// A whole reply gathered from a stream.
public struct ChatCompletion: Hashable, Sendable {
    /// All deltas concatenated.
    public var text: String = ""
    /// Why the model stopped.
    public var finishReason: FinishReason?
    /// Token accounting, if reported.
    public var usage: TokenUsage?

    /// Creates an empty completion.
    public init(text: String = "", finishReason: FinishReason? = nil, usage: TokenUsage? = nil) {
        self.text = text
        self.finishReason = finishReason
        self.usage = usage
    }
}

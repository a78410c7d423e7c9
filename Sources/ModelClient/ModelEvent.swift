/// One event of a model reply, in arrival order.
public enum ModelEvent: Hashable, Sendable {
    /// Newly generated text.
    case delta(String)
    /// The reply is complete.
    case finish(FinishReason)
    /// Token accounting (usually after `finish`).
    case usage(TokenUsage)
}

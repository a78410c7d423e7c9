import ModelClient

/// Hands one model stream to several readers, each at its own pace: every reader gets every event, so one slow
/// platform never holds back another, and the model is asked once. Readers' buffers are unbounded, which is safe:
/// a reply is at most the model's output limit, a few thousand tokens.
struct ModelStreamFanOut: Sendable {
    /// What the upstream produced, once it ended.
    struct Result: Sendable {
        /// The model's whole text.
        var text = ""
        /// Its finish reason, when it finished.
        var finishReason: FinishReason?
        /// Token usage, when reported.
        var usage: TokenUsage?
        /// The error that ended it early, if any (the model failed, the reply was stopped or cut off).
        var error: (any Error)?
    }

    /// One stream per reader, in the order asked for.
    let streams: [AsyncThrowingStream<ModelEvent, any Error>]
    private let continuations: [AsyncThrowingStream<ModelEvent, any Error>.Continuation]
    private let upstream: AsyncThrowingStream<ModelEvent, any Error>

    /// Creates `count` readers of `upstream`; nothing is read until `pump()` runs.
    init(_ upstream: AsyncThrowingStream<ModelEvent, any Error>, readers count: Int) {
        var streams: [AsyncThrowingStream<ModelEvent, any Error>] = []
        var continuations: [AsyncThrowingStream<ModelEvent, any Error>.Continuation] = []
        for _ in 0..<count {
            let (stream, continuation) = AsyncThrowingStream.makeStream(of: ModelEvent.self, throwing: (any Error).self)
            streams.append(stream)
            continuations.append(continuation)
        }
        self.streams = streams
        self.continuations = continuations
        self.upstream = upstream
    }

    /// Reads the upstream to its end, giving every event to every reader; returns what it read. A reader that
    /// stopped early (its platform failed) simply no longer receives.
    func pump() async -> Result {
        var result = Result()
        do {
            for try await event in upstream {
                switch event {
                case .delta(let piece): result.text += piece
                case .finish(let reason): result.finishReason = reason
                case .usage(let usage): result.usage = usage
                }
                for continuation in continuations { continuation.yield(event) }
            }
            for continuation in continuations { continuation.finish() }
        } catch {
            result.error = error
            for continuation in continuations { continuation.finish(throwing: error) }
        }
        return result
    }

    /// A stream that replays a finished reply at once, for posting it again where it failed.
    static func replay(_ text: String, finishReason: FinishReason?) -> AsyncThrowingStream<ModelEvent, any Error> {
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: ModelEvent.self, throwing: (any Error).self)
        if !text.isEmpty { continuation.yield(.delta(text)) }
        if let finishReason { continuation.yield(.finish(finishReason)) }
        continuation.finish()
        return stream
    }
}

import ModelClient
import Synchronization

/// A model that records every request and answers it at once, in one piece, with the text `reply` makes of it.
public final class AnsweringModel: ChatModel, Sendable {
    private let recorded = Mutex<[ChatRequest]>([])
    private let reply: @Sendable (ChatRequest) -> String

    /// Creates a model answering with `reply(request)`.
    public init(reply: @escaping @Sendable (ChatRequest) -> String) {
        self.reply = reply
    }

    /// A model answering "NAME answers." as the persona named in the system turn.
    public static func personaAnswers() -> AnsweringModel {
        AnsweringModel { "\($0.messages.first?.name ?? "?") answers." }
    }

    /// The requests so far, oldest first.
    public var requests: [ChatRequest] { recorded.withLock { $0 } }

    /// Records `request` and streams its answer.
    public func stream(_ request: ChatRequest) -> AsyncThrowingStream<ModelEvent, Error> {
        recorded.withLock { $0.append(request) }
        let text = reply(request)
        return AsyncThrowingStream { continuation in
            continuation.yield(.delta(text))
            continuation.yield(.finish(.stop))
            continuation.finish()
        }
    }
}

import Synchronization

/// Received messages on their way from the event-loop thread to the one task reading them.
///
/// It behaves as the `AsyncThrowingStream` it replaces: messages in order, then the end (an error thrown once,
/// or nil), nothing after; a cancelled reader gets nil. It holds one concrete element type because the generic
/// stream looked up its type metadata on every message, on both threads, during a gateway flood.
final class WebSocketInbox: Sendable {
    private struct State {
        var buffer: [WebSocketMessage] = []
        /// Messages before `head` were taken; compacted as the reader catches up.
        var head = 0
        /// Set by `finish`: the reader gets it once the buffer is drained (an error is thrown once, then nil).
        var end: Result<Void, any Error>?
        var cancelled = false
        /// The reader, parked while the buffer is empty.
        var waiter: CheckedContinuation<WebSocketMessage?, any Error>?
    }

    private enum Step {
        case message(WebSocketMessage)
        case end((any Error)?)
        case wait
    }

    private let state = Mutex(State())

    /// Queues a message (event-loop thread); dropped once the inbox has ended or its reader was cancelled.
    func yield(_ message: WebSocketMessage) {
        let waiter = state.withLock { s -> CheckedContinuation<WebSocketMessage?, any Error>? in
            guard s.end == nil, !s.cancelled else { return nil }
            if let waiter = s.waiter {
                // A parked reader means an empty buffer: the message goes straight to it.
                s.waiter = nil
                return waiter
            }
            s.buffer.append(message)
            return nil
        }
        waiter?.resume(returning: message)
    }

    /// Ends the inbox: the reader drains what is queued, then gets `error` (or nil). Later calls change nothing.
    func finish(throwing error: (any Error)? = nil) {
        let woken = state.withLock { s -> (CheckedContinuation<WebSocketMessage?, any Error>, Step)? in
            guard s.end == nil else { return nil }
            s.end = error.map { .failure($0) } ?? .success(())
            guard let waiter = s.waiter else { return nil }
            s.waiter = nil
            return (waiter, Self.take(&s))
        }
        guard let (waiter, step) = woken else { return }
        Self.resume(waiter, with: step)
    }

    /// Whether a message is queued, so `next()` would not wait.
    var hasMessages: Bool { state.withLock { $0.head < $0.buffer.count } }

    /// The next message; nil after the end (or once the reading task is cancelled). Read from one task only.
    func next() async throws -> WebSocketMessage? {
        switch state.withLock({ Self.take(&$0) }) {
        case .message(let message): return message
        case .end(let error?): throw error
        case .end(nil): return nil
        case .wait: break
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (waiter: CheckedContinuation<WebSocketMessage?, any Error>) in
                let step = state.withLock { s -> Step in
                    if Task.isCancelled { s.cancelled = true }
                    let step = Self.take(&s)
                    if case .wait = step { s.waiter = waiter }
                    return step
                }
                if case .wait = step { return }
                Self.resume(waiter, with: step)
            }
        } onCancel: {
            let waiter = state.withLock { s -> CheckedContinuation<WebSocketMessage?, any Error>? in
                s.cancelled = true
                defer { s.waiter = nil }
                return s.waiter
            }
            waiter?.resume(returning: nil)
        }
    }

    private static func take(_ s: inout State) -> Step {
        if s.cancelled { return .end(nil) }
        if s.head < s.buffer.count {
            let message = s.buffer[s.head]
            s.head += 1
            if s.head == s.buffer.count {
                // Drained: keep a modest buffer for the next burst, not the largest one ever queued.
                s.buffer.removeAll(keepingCapacity: s.buffer.count <= 1_024)
                s.head = 0
            } else if s.head > 1_024, s.head * 2 > s.buffer.count {
                s.buffer.removeFirst(s.head)
                s.head = 0
            }
            return .message(message)
        }
        switch s.end {
        case .failure(let error)?:
            // Thrown once; the reader then sees the plain end.
            s.end = .success(())
            return .end(error)
        case .success?:
            return .end(nil)
        case nil:
            return .wait
        }
    }

    private static func resume(_ waiter: CheckedContinuation<WebSocketMessage?, any Error>, with step: Step) {
        switch step {
        case .message(let message): waiter.resume(returning: message)
        case .end(let error?): waiter.resume(throwing: error)
        case .end(nil), .wait: waiter.resume(returning: nil)
        }
    }
}

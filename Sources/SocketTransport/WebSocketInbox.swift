import Synchronization

/// Received messages on their way from the event-loop thread to the one task reading them.
///
/// It behaves as the `AsyncThrowingStream` it replaced: messages in order, then the end (an error thrown once, or
/// nil), nothing after; a cancelled reader gets nil. The messages wait as bytes in one buffer (`WebSocketFrames`),
/// which a reader of whole batches swaps for its emptied one; a reader of single messages gets copies.
final class WebSocketInbox: Sendable {
    private struct State {
        var queued = WebSocketFrames()
        /// Messages before `head` were taken one at a time.
        var head = 0
        /// Set by `finish`: the reader gets it once the buffer is drained (an error is thrown once, then nil).
        var end: Result<Void, any Error>?
        var cancelled = false
        /// The reader, parked while the buffer is empty; resumed when that changes (a message, the end, a cancel).
        var waiter: CheckedContinuation<Void, Never>?
    }

    private enum Step<Taken> {
        case taken(Taken)
        case end((any Error)?)
        case wait
    }

    private let state = Mutex(State())

    /// Queues a message's bytes (event-loop thread); dropped once the inbox has ended or its reader was cancelled.
    func append(_ bytes: UnsafeRawBufferPointer, binary: Bool) {
        let waiter = state.withLock { s -> CheckedContinuation<Void, Never>? in
            guard s.end == nil, !s.cancelled else { return nil }
            s.queued.append(bytes, binary: binary)
            defer { s.waiter = nil }
            return s.waiter
        }
        waiter?.resume()
    }

    /// Queues a message.
    func yield(_ message: WebSocketMessage) {
        switch message {
        case .binary(let bytes): bytes.withUnsafeBytes { append($0, binary: true) }
        case .text(var text): text.withUTF8 { append(UnsafeRawBufferPointer($0), binary: false) }
        }
    }

    /// Ends the inbox: the reader drains what is queued, then gets `error` (or nil). Later calls change nothing.
    func finish(throwing error: (any Error)? = nil) {
        let waiter = state.withLock { s -> CheckedContinuation<Void, Never>? in
            guard s.end == nil else { return nil }
            s.end = error.map { .failure($0) } ?? .success(())
            defer { s.waiter = nil }
            return s.waiter
        }
        waiter?.resume()
    }

    /// Bytes held, taken or not (tests).
    var queuedBytes: Int { state.withLock { $0.queued.byteCount } }

    /// Whether a message is queued, so `next()` would not wait.
    var hasMessages: Bool { state.withLock { $0.head < $0.queued.count } }

    /// The next message; nil after the end (or once the reading task is cancelled). Read from one task only.
    func next() async throws -> WebSocketMessage? {
        try await take { s -> WebSocketMessage? in
            guard s.head < s.queued.count else { return nil }
            let message = s.queued.message(s.head)
            s.head += 1
            if s.head == s.queued.count {
                s.queued.removeAll()
                s.head = 0
            } else if s.head > 1_024, s.head * 2 > s.queued.count {
                // A reader that never quite catches up would otherwise keep every message it took.
                s.queued.removeFirst(s.head)
                s.head = 0
            }
            return message
        }
    }

    /// Replaces `frames` (emptied first, its buffer handed to the inbox for reuse) with every queued message,
    /// waiting while there is none; false after the end (or once the reading task is cancelled). Returns with at
    /// least one message otherwise. Read from one task only.
    func next(_ frames: inout WebSocketFrames) async throws -> Bool {
        frames.removeAll()
        // Moved out, so the inbox's appends to it do not copy it. `body` below touches it only when it takes.
        var spare = WebSocketFrames()
        swap(&spare, &frames)
        guard let taken = try await take({ s -> WebSocketFrames? in
            guard s.head < s.queued.count else { return nil }
            if s.head == 0 {
                swap(&spare, &s.queued)
            } else {
                // The reader took some one at a time before: the rest are copied out.
                spare.append(s.queued, from: s.head)
                s.queued.removeAll()
                s.head = 0
            }
            return spare
        }) else { return false }
        frames = taken
        return true
    }

    /// Takes what `body` finds under the lock, or the end, waiting while neither is there.
    private func take<Taken: Sendable>(_ body: (inout State) -> Taken?) async throws -> Taken? {
        while true {
            var step = Step<Taken>.wait
            state.withLock { s in step = Self.step(&s, body) }
            switch step {
            case .taken(let taken): return taken
            case .end(let error?): throw error
            case .end(nil): return nil
            case .wait: break
            }
            await withTaskCancellationHandler {
                await withCheckedContinuation { (waiter: CheckedContinuation<Void, Never>) in
                    let park = state.withLock { s -> Bool in
                        if Task.isCancelled { s.cancelled = true }
                        guard !s.cancelled, s.head == s.queued.count, s.end == nil else { return false }
                        s.waiter = waiter
                        return true
                    }
                    if !park { waiter.resume() }
                }
            } onCancel: {
                let waiter = state.withLock { s -> CheckedContinuation<Void, Never>? in
                    s.cancelled = true
                    defer { s.waiter = nil }
                    return s.waiter
                }
                waiter?.resume()
            }
        }
    }

    private static func step<Taken: Sendable>(_ s: inout State, _ body: (inout State) -> Taken?) -> Step<Taken> {
        if s.cancelled { return .end(nil) }
        if let taken = body(&s) { return .taken(taken) }
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
}

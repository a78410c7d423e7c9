import BridgeConfig
import Foundation
import Logging
import Storage
import Synchronization

/// Keeps a streaming reply's history row in step with the platform, so a crash mid-stream leaves history
/// holding the partial text, marked interrupted, instead of nothing.
///
/// The row is inserted when the reply's first message is sent and updated (at most once per
/// `updateInterval`) as text arrives, each time with `interruptedMarker` appended; the Router replaces it
/// with the final text once the reply is complete. Writes go through one task, in order.
final class StreamingHistory: Sendable {
    /// Appended to the stored text until the reply is complete.
    static let interruptedMarker = "(reply interrupted)"
    /// Least time between two updates of the row while text streams.
    static let updateInterval = Duration.seconds(1)

    private struct State {
        var text = ""
        var firstMessageID: String?
        var stored = false
        var lastWrite: Duration?
        var closed = false
    }

    private enum Write {
        case insert(id: String, text: String)
        case update(id: String, text: String)
    }

    private let state = Mutex(State())
    private let writes: AsyncStream<Write>.Continuation
    private let writer: Task<Void, Never>
    private let clock: ElapsedClock

    /// Starts the writer for a reply by `persona` to `triggerID` in `channel`.
    init(store: any Store, channel: ChannelKey, persona: Persona, triggerID: String?, clock: ElapsedClock, logger: Logger) {
        self.clock = clock
        let (stream, continuation) = AsyncStream.makeStream(of: Write.self)
        writes = continuation
        // One task so the writes land in order and a slow store never holds up the token path; `finish()` awaits it.
        writer = Task {
            for await write in stream {
                do {
                    switch write {
                    case .insert(let id, let text):
                        try await store.insert(StoredMessage(
                            channel: channel, messageID: id, speakerID: "persona:\(persona.name)", speakerName: persona.displayName,
                            kind: .persona, personaName: persona.name, text: text, timestamp: Date(), replyToID: triggerID))
                    case .update(let id, let text):
                        try await store.applyEdit(in: channel, messageID: id, newText: text)
                    }
                } catch {
                    logger.warning("could not record the streaming reply", metadata: ["error": "\(error)"])
                }
            }
        }
    }

    /// Text arrived from the model.
    func delta(_ piece: String) {
        let now = clock.now
        let write = state.withLock { s -> Write? in
            s.text += piece
            return s.closed ? nil : due(&s, now: now)
        }
        if let write { writes.yield(write) }
    }

    /// A message of the reply was sent; the first one names the history row.
    func sent(_ message: SentMessageRef) {
        let now = clock.now
        let write = state.withLock { s -> Write? in
            guard s.firstMessageID == nil, !s.closed else { return nil }
            s.firstMessageID = message.messageID
            s.lastWrite = nil
            return due(&s, now: now)
        }
        if let write { writes.yield(write) }
    }

    /// Stops recording and waits for the writes so far; returns the id of the row written, if any, which the
    /// caller then updates with the final text.
    func finish() async -> String? {
        let stored = state.withLock { s -> String? in
            s.closed = true
            return s.stored ? s.firstMessageID : nil
        }
        writes.finish()
        await writer.value
        return stored
    }

    /// The write due now, if the first message is out, there is text, and the last write is old enough.
    private func due(_ s: inout State, now: Duration) -> Write? {
        guard let id = s.firstMessageID, !s.text.isEmpty else { return nil }
        if let last = s.lastWrite, now - last < Self.updateInterval { return nil }
        s.lastWrite = now
        let text = s.text + "\n\n" + Self.interruptedMarker
        if s.stored { return .update(id: id, text: text) }
        s.stored = true
        return .insert(id: id, text: text)
    }
}

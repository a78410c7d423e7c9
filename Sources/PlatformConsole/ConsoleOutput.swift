import Foundation
import Synchronization

/// Where the console writes its transcript; serialises writes and tracks streamed messages.
public final class ConsoleOutput: Sendable {
    /// What has been printed; writes to the sink happen while it is held, so lines never interleave.
    private struct Transcript {
        var printed: [String: (header: String, text: String)] = [:]
        var last: String?
        var lastWrite = ContinuousClock.now

        mutating func closeStream(_ sink: (String) -> Void) {
            if last != nil { sink("\n") }
            last = nil
        }
    }

    private let sink: @Sendable (String) -> Void
    private let transcript = Mutex(Transcript())

    /// Standard output, flushed after every write so streaming is visible.
    public static let standardOutput = ConsoleOutput { text in
        FileHandle.standardOutput.write(Data(text.utf8))
    }

    /// Creates an output that hands every piece of text to `sink`.
    public init(_ sink: @escaping @Sendable (String) -> Void) { self.sink = sink }

    /// Writes a line of its own, ending any message that was streaming.
    func write(_ text: String) {
        transcript.withLock { t in
            t.closeStream(sink)
            sink(text)
        }
    }

    /// Starts a streamed message.
    func streamStart(id: String, header: String, text: String) {
        transcript.withLock { t in
            t.closeStream(sink)
            t.printed[id] = (header, text)
            t.last = id
            t.lastWrite = .now
            sink(header + text)
        }
    }

    /// Shows a message's new full text: appends the added tail, or reprints when earlier text changed
    /// or another message was printed since.
    func streamUpdate(id: String, text: String) {
        transcript.withLock { t in
            guard let (header, old) = t.printed[id] else { return }
            if t.last == id, text.hasPrefix(old) {
                sink(String(text.dropFirst(old.count)))
            } else {
                t.closeStream(sink)
                sink("\(header)(edited) \(text)")
                t.last = id
            }
            t.printed[id] = (header, text)
            t.lastWrite = .now
        }
    }

    /// Ends the streaming line once nothing was added for `quiet`, so the next prompt starts on its own line.
    func settle(quiet: Duration) {
        transcript.withLock { t in
            if t.last != nil, ContinuousClock.now - t.lastWrite >= quiet { t.closeStream(sink) }
        }
    }
}

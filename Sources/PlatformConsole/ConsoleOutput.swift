import Foundation

/// Where the console writes its transcript; serialises writes and tracks streamed messages.
public final class ConsoleOutput: @unchecked Sendable {
    // Safe: `printed`, `last` and writes to the sink happen only under `lock`.
    private let lock = NSLock()
    private let sink: @Sendable (String) -> Void
    private var printed: [String: (header: String, text: String)] = [:]
    private var last: String?
    private var lastWrite = ContinuousClock.now

    /// Standard output, flushed after every write so streaming is visible.
    public static let standardOutput = ConsoleOutput { text in
        FileHandle.standardOutput.write(Data(text.utf8))
    }

    /// Creates an output that hands every piece of text to `sink`.
    public init(_ sink: @escaping @Sendable (String) -> Void) { self.sink = sink }

    /// Writes a line of its own, ending any message that was streaming.
    func write(_ text: String) {
        lock.lock()
        defer { lock.unlock() }
        closeStream()
        sink(text)
    }

    /// Starts a streamed message.
    func streamStart(id: String, header: String, text: String) {
        lock.lock()
        defer { lock.unlock() }
        closeStream()
        printed[id] = (header, text)
        last = id
        lastWrite = .now
        sink(header + text)
    }

    /// Shows a message's new full text: appends the added tail, or reprints when earlier text changed
    /// or another message was printed since.
    func streamUpdate(id: String, text: String) {
        lock.lock()
        defer { lock.unlock() }
        guard let (header, old) = printed[id] else { return }
        if last == id, text.hasPrefix(old) {
            sink(String(text.dropFirst(old.count)))
        } else {
            closeStream()
            sink("\(header)(edited) \(text)")
            last = id
        }
        printed[id] = (header, text)
        lastWrite = .now
    }

    /// Ends the streaming line once nothing was added for `quiet`, so the next prompt starts on its own line.
    func settle(quiet: Duration) {
        lock.lock()
        defer { lock.unlock() }
        if last != nil, ContinuousClock.now - lastWrite >= quiet { closeStream() }
    }

    private func closeStream() {
        if last != nil { sink("\n") }
        last = nil
    }
}

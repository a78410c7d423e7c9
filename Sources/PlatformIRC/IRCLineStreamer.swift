/// Turns growing model text into complete lines as early as possible: at a newline, at a sentence end followed by
/// more text, or when the byte budget is full; each piece of text is emitted once.
public struct IRCLineStreamer: Sendable {
    /// Maximum UTF-8 bytes of one emitted line before it is cut.
    public let budget: Int
    private var pending = ""

    /// Creates a streamer; `budget` usually comes from `IRCOutgoingSplitter.budget(target:)`.
    public init(budget: Int) {
        self.budget = max(IRCOutgoingSplitter.minimumBudget, budget)
    }

    /// Text received but not yet emitted.
    public var unsent: String { pending }

    /// Adds model text and returns the lines that are now complete.
    public mutating func append(_ delta: String) -> [String] {
        pending += delta
        var out: [String] = []
        while true {
            if let line = takeLine() {
                out += IRCOutgoingSplitter.chunks(line, budget: budget)
                continue
            }
            if let sentence = takeSentence() {
                // A delta may push a finished sentence past the budget; cut it like any other line.
                out += IRCOutgoingSplitter.chunks(sentence, budget: budget)
                continue
            }
            break
        }
        if pending.utf8.count > budget {
            // Every chunk but the last is final: appending text can only change the last one.
            let chunks = IRCOutgoingSplitter.chunks(pending, budget: budget)
            out += chunks.dropLast()
            pending = chunks.last ?? ""
        }
        return out
    }

    /// Returns whatever remains (split to the budget) and resets the streamer.
    public mutating func finish() -> [String] {
        defer { pending = "" }
        return IRCOutgoingSplitter.lines(of: pending).flatMap { IRCOutgoingSplitter.chunks($0, budget: budget) }
    }

    private mutating func takeLine() -> String? {
        guard let index = pending.firstIndex(where: { $0 == "\n" || $0 == "\r" || $0 == "\r\n" }) else { return nil }
        let line = String(pending[..<index]).trimmingWhitespace()
        pending = String(pending[pending.index(after: index)...])
        return line
    }

    private static let sentenceEnds: Set<Character> = [".", "!", "?", "…", "。", "！", "？"]
    private static let closers: Set<Character> = ["\"", "'", ")", "]", "»", "”", "’", "*"]

    private mutating func takeSentence() -> String? {
        var index = pending.startIndex
        while index < pending.endIndex {
            guard Self.sentenceEnds.contains(pending[index]) else {
                index = pending.index(after: index)
                continue
            }
            var end = pending.index(after: index)
            while end < pending.endIndex, Self.sentenceEnds.contains(pending[end]) || Self.closers.contains(pending[end]) {
                end = pending.index(after: end)
            }
            var next = end
            while next < pending.endIndex, pending[next].isWhitespace, pending[next] != "\n", pending[next] != "\r" {
                next = pending.index(after: next)
            }
            // Complete only when whitespace and then more text follow, so "3.5" or a still-growing "..." is kept.
            if next > end, next < pending.endIndex, !pending[next].isWhitespace {
                let sentence = String(pending[..<end]).trimmingWhitespace()
                pending = String(pending[next...])
                if !sentence.isEmpty { return sentence }
                index = pending.startIndex
                continue
            }
            index = end
        }
        return nil
    }
}

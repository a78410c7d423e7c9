/// Splits text that is too long for one platform message at the best boundary, keeping code fences intact.
///
/// Splitting is prefix-stable: once a part is followed by more text, growing the text never changes it,
/// so a streamed reply can finish a message and move on to the next.
public struct MessageSplitter: Hashable, Sendable {
    /// A length limit and how it is counted.
    public enum Limit: Hashable, Sendable {
        /// At most this many characters (grapheme clusters).
        case characters(Int)
        /// At most this many UTF-8 bytes.
        case utf8Bytes(Int)

        var value: Int {
            switch self {
            case .characters(let n), .utf8Bytes(let n): n
            }
        }
    }

    /// The limit every part respects.
    public var limit: Limit

    /// Creates a splitter for a limit.
    public init(limit: Limit) {
        self.limit = limit
    }

    /// Cost of text under the limit's unit.
    public func cost(_ text: some StringProtocol) -> Int {
        switch limit {
        case .characters: text.count
        case .utf8Bytes: text.utf8.count
        }
    }

    /// Splits `text` into parts that each fit the limit; a text that fits is returned whole.
    public func split(_ text: String) -> [String] {
        let chars = Array(text)
        var parts: [String] = []
        var start = 0
        var openFence: String?
        while true {
            var prefix = openFence.map { $0 + "\n" } ?? ""
            if cost(prefix) + cost(of: chars[start...]) <= limit.value {
                parts.append(prefix + String(chars[start...]))
                return parts
            }
            if limit.value - cost(prefix) - Self.closerCost < 1 {
                // Limit too small to repeat the fence opener: split as plain text rather than loop.
                prefix = ""
                openFence = nil
            }
            var budget = limit.value - cost(prefix)
            var cut = findCut(chars, from: start, budget: budget)
            var fenceAtCut = fenceState(chars, from: start, to: cut.end, initial: openFence)
            if fenceAtCut != nil, budget - Self.closerCost >= 1 {
                budget -= Self.closerCost
                cut = findCut(chars, from: start, budget: budget)
                fenceAtCut = fenceState(chars, from: start, to: cut.end, initial: openFence)
            }
            var body = prefix + String(chars[start..<cut.end])
            if fenceAtCut != nil {
                if !body.hasSuffix("\n") { body += "\n" }
                body += "```"
            }
            parts.append(body)
            openFence = fenceAtCut
            start = cut.next
        }
    }

    /// "\n```", the most a closing fence adds.
    private static let closerCost = 4
    /// A fence opener longer than this is cut, so the repeated opener stays small.
    private static let maxOpenerLength = 24

    private func cost(of chars: ArraySlice<Character>) -> Int {
        switch limit {
        case .characters: chars.count
        case .utf8Bytes: chars.reduce(0) { $0 + $1.utf8.count }
        }
    }

    private func charCost(_ c: Character) -> Int {
        switch limit {
        case .characters: 1
        case .utf8Bytes: c.utf8.count
        }
    }

    /// Where to end this part (`end`, exclusive) and where the next part starts (`next`, after the separator).
    private func findCut(_ chars: [Character], from start: Int, budget: Int) -> (end: Int, next: Int) {
        var windowEnd = start
        var used = 0
        while windowEnd < chars.count, used + charCost(chars[windowEnd]) <= budget {
            used += charCost(chars[windowEnd])
            windowEnd += 1
        }
        if windowEnd == start { return (start + 1, start + 1) }   // one character larger than the limit
        // A boundary in the first third would make a uselessly short message.
        let minEnd = start + max(1, (windowEnd - start) / 3)
        let last = min(windowEnd, chars.count - 1)
        func search(_ isSeparator: (Int) -> Int?) -> (end: Int, next: Int)? {
            var j = last
            while j >= minEnd {
                if let width = isSeparator(j) { return (j, j + width) }
                j -= 1
            }
            return nil
        }
        if let cut = search({ j in chars[j] == "\n" && j > start && chars[j - 1] == "\n" ? 1 : nil }) {
            return (cut.end - 1, cut.next)   // paragraph: drop the blank line
        }
        if let cut = search({ j in chars[j] == "\n" ? 1 : nil }) { return cut }
        if let cut = search({ j in chars[j].isWhitespace && j > start && ".!?…".contains(chars[j - 1]) ? 1 : nil }) {
            return cut
        }
        if let cut = search({ j in chars[j].isWhitespace ? 1 : nil }) { return cut }
        // No boundary: hard cut, but never inside a run of backticks.
        var end = windowEnd
        while end - 1 > start, chars[end - 1] == "`", end < chars.count, chars[end] == "`" { end -= 1 }
        return (end, end)
    }

    /// The opener line of the fence open at `end`, given the one open at `start`.
    private func fenceState(_ chars: [Character], from start: Int, to end: Int, initial: String?) -> String? {
        var open = initial
        var i = start
        while i < end {
            let lineStart = i == 0 || chars[i - 1] == "\n"
            if lineStart {
                var k = i
                while k < end, chars[k] == " " { k += 1 }
                if k + 3 <= end, chars[k] == "`", chars[k + 1] == "`", chars[k + 2] == "`" {
                    if open == nil {
                        var lineEnd = k
                        while lineEnd < chars.count, chars[lineEnd] != "\n" { lineEnd += 1 }
                        let opener = String(chars[k..<lineEnd]).trimmingTrailingWhitespace()
                        open = String(opener.prefix(Self.maxOpenerLength))
                    } else {
                        open = nil
                    }
                }
            }
            // Skip to the next line start.
            while i < end, chars[i] != "\n" { i += 1 }
            i += 1
        }
        return open
    }
}

extension String {
    func trimmingTrailingWhitespace() -> String {
        var s = Substring(self)
        while let last = s.last, last.isWhitespace { s.removeLast() }
        return String(s)
    }
}

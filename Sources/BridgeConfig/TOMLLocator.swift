import Foundation

/// Maps TOML key paths (`model.temperature`, `channels[1].personas`) to source lines by scanning the text.
///
/// TOMLKit gives values but not key positions, so this tracks table headers and `key =` lines itself.
public struct TOMLLocator: Sendable {
    /// A 1-based source position.
    public struct Position: Hashable, Sendable {
        /// 1-based line.
        public var line: Int
        /// 1-based column.
        public var column: Int
    }

    private var positions: [String: Position] = [:]

    /// Scans `source` once.
    public init(source: String) {
        var arrayCounts: [String: Int] = [:]
        var currentTable: [String] = []
        var openBrackets = 0
        var inMultiline: String?  // the closing delimiter while inside a multi-line string
        for (index, rawLine) in source.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let lineNumber = index + 1
            let line = Substring(rawLine.hasSuffix("\r") ? rawLine.dropLast() : rawLine)
            if let delimiter = inMultiline {
                if Self.count(of: delimiter, in: line) % 2 == 1 { inMultiline = nil }
                continue
            }
            if openBrackets > 0 {
                openBrackets += Self.bracketBalance(line)
                if openBrackets < 0 { openBrackets = 0 }
                continue
            }
            let trimmed = line.drop { $0 == " " || $0 == "\t" }
            let column = line.count - trimmed.count + 1
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            if trimmed.hasPrefix("[[") {
                let name = Self.keyComponents(Self.headerBody(trimmed.dropFirst(2), closing: "]]"))
                let resolved = Self.resolveArrays(name, counts: arrayCounts, dropLastIndex: true)
                let key = Self.join(resolved)
                let next = arrayCounts[key, default: 0]
                arrayCounts[key] = next + 1
                currentTable = resolved.dropLast() + ["\(resolved.last ?? "")[\(next)]"]
                positions[Self.join(currentTable)] = Position(line: lineNumber, column: column)
                if positions[key] == nil { positions[key] = Position(line: lineNumber, column: column) }
                continue
            }
            if trimmed.hasPrefix("[") {
                let name = Self.keyComponents(Self.headerBody(trimmed.dropFirst(), closing: "]"))
                currentTable = Self.resolveArrays(name, counts: arrayCounts, dropLastIndex: false)
                positions[Self.join(currentTable)] = Position(line: lineNumber, column: column)
                continue
            }
            guard let equals = Self.firstUnquoted("=", in: trimmed) else { continue }
            let keyPart = trimmed[trimmed.startIndex..<equals]
            let path = currentTable + Self.keyComponents(keyPart)
            let joined = Self.join(path)
            if positions[joined] == nil { positions[joined] = Position(line: lineNumber, column: column) }
            let value = trimmed[trimmed.index(after: equals)...].drop { $0 == " " || $0 == "\t" }
            for delimiter in ["\"\"\"", "'''"] where value.hasPrefix(delimiter) {
                if Self.count(of: delimiter, in: value) % 2 == 1 { inMultiline = delimiter }
                break
            }
            if inMultiline == nil, value.hasPrefix("[") {
                openBrackets = max(0, Self.bracketBalance(value))
            }
        }
    }

    /// Position of a key path; falls back to the nearest enclosing table or key that is known.
    public func position(of path: String) -> Position? {
        var candidate = path
        while true {
            if let position = positions[candidate] { return position }
            guard let cut = candidate.lastIndex(where: { $0 == "." || $0 == "[" }) else { return nil }
            candidate = String(candidate[..<cut])
        }
    }

    /// Line of a key path (see `position(of:)`).
    public func line(of path: String) -> Int? { position(of: path)?.line }

    /// Whether the exact path was seen in the text.
    public func contains(_ path: String) -> Bool { positions[path] != nil }

    // MARK: scanning helpers

    private static func join(_ components: [String]) -> String {
        var result = ""
        for component in components {
            if !result.isEmpty && !component.hasPrefix("[") { result += "." }
            result += component
        }
        return result
    }

    /// Points header components that name an array of tables at its latest element.
    private static func resolveArrays(_ components: [String], counts: [String: Int], dropLastIndex: Bool) -> [String] {
        var resolved: [String] = []
        for (offset, component) in components.enumerated() {
            let isLast = offset == components.count - 1
            let key = join(resolved + [component])
            if let count = counts[key], count > 0, !(isLast && dropLastIndex) {
                resolved.append("\(component)[\(count - 1)]")
            } else {
                resolved.append(component)
            }
        }
        return resolved
    }

    private static func headerBody(_ text: Substring, closing: String) -> Substring {
        guard let range = text.range(of: closing) else { return text }
        return text[text.startIndex..<range.lowerBound]
    }

    /// Splits a dotted key (with optional quoted parts) into components.
    static func keyComponents(_ text: Substring) -> [String] {
        var components: [String] = []
        var current = ""
        var quote: Character?
        for character in text {
            if let open = quote {
                if character == open { quote = nil } else { current.append(character) }
            } else if character == "\"" || character == "'" {
                quote = character
            } else if character == "." {
                components.append(current.trimmingSpaces())
                current = ""
            } else {
                current.append(character)
            }
        }
        components.append(current.trimmingSpaces())
        return components
    }

    private static func firstUnquoted(_ target: Character, in text: Substring) -> Substring.Index? {
        var quote: Character?
        var index = text.startIndex
        while index < text.endIndex {
            let character = text[index]
            if let open = quote {
                if character == "\\" && open == "\"" {
                    index = text.index(after: index)
                    if index == text.endIndex { break }
                } else if character == open {
                    quote = nil
                }
            } else if character == "\"" || character == "'" {
                quote = character
            } else if character == "#" {
                return nil
            } else if character == target {
                return index
            }
            index = text.index(after: index)
        }
        return nil
    }

    /// Net `[` minus `]` outside strings and comments.
    private static func bracketBalance(_ text: Substring) -> Int {
        var balance = 0
        var quote: Character?
        var escaped = false
        for character in text {
            if let open = quote {
                if escaped { escaped = false } else if character == "\\" && open == "\"" { escaped = true } else if character == open { quote = nil }
                continue
            }
            switch character {
            case "\"", "'": quote = character
            case "#": return balance
            case "[": balance += 1
            case "]": balance -= 1
            default: break
            }
        }
        return balance
    }

    private static func count(of needle: String, in text: Substring) -> Int {
        var count = 0
        var rest = text[...]
        while let range = rest.range(of: needle) {
            count += 1
            rest = rest[range.upperBound...]
        }
        return count
    }
}

extension String {
    func trimmingSpaces() -> String {
        var text = Substring(self)
        while let first = text.first, first == " " || first == "\t" { text.removeFirst() }
        while let last = text.last, last == " " || last == "\t" { text.removeLast() }
        return String(text)
    }
}

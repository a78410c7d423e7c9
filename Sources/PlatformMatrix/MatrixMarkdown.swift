import BridgeCore

/// Turns model Markdown into Matrix `org.matrix.custom.html` that only holds tags we generate ourselves.
///
/// Safe by construction: the input is HTML-escaped first, so no tag or attribute from the model survives;
/// links keep only the spec's allowed schemes (http, https, ftp, mailto, magnet) and images are never emitted.
public enum MatrixMarkdown {
    /// Tags this renderer can emit; a subset of the spec's allowed list.
    public static let emittedTags: Set<String> = [
        "a", "b", "strong", "em", "i", "code", "pre", "br", "p", "blockquote", "ul", "ol", "li", "h1", "h2", "h3",
        "h4", "h5", "h6", "del",
    ]
    /// URL schemes the spec allows in `a href`.
    public static let allowedLinkSchemes: Set<String> = ["http", "https", "ftp", "mailto", "magnet"]

    /// HTML for `markdown`, or `nil` when it has no formatting (plain `body` is then enough).
    public static func html(_ markdown: String) -> String? {
        let rendered = render(markdown)
        return rendered == escape(markdown).replacingNewlines() ? nil : rendered
    }

    /// Escapes `& < > " '` for text and attribute values.
    public static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for ch in text {
            switch ch {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(ch)
            }
        }
        return out
    }

    /// Whether `url` may be a link target.
    public static func isAllowedLink(_ url: String) -> Bool {
        guard let colon = url.firstIndex(of: ":") else { return false }
        let scheme = url[..<colon].lowercased()
        guard allowedLinkSchemes.contains(scheme) else { return false }
        return !url.contains(where: { $0.isWhitespace || $0.asciiValue.map { $0 < 0x20 } == true })
    }

    static func render(_ markdown: String) -> String {
        var blocks: [(html: String, paragraph: Bool)] = []
        var lines = markdown.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)[...]
        var paragraph: [String] = []
        func flushParagraph() {
            if !paragraph.isEmpty { blocks.append((paragraph.map(inline).joined(separator: "<br/>"), true)) }
            paragraph = []
        }
        while let line = lines.first {
            lines.removeFirst()
            let trimmed = line.trimmingLeadingSpaces()
            if trimmed.hasPrefix("```") {
                flushParagraph()
                var code: [String] = []
                while let next = lines.first, !next.trimmingLeadingSpaces().hasPrefix("```") {
                    code.append(next)
                    lines.removeFirst()
                }
                if !lines.isEmpty { lines.removeFirst() }
                blocks.append(("<pre><code>" + escape(code.joined(separator: "\n")) + "</code></pre>", false))
            } else if let level = headingLevel(trimmed) {
                flushParagraph()
                let text = trimmed.dropFirst(level).drop { $0 == " " }
                blocks.append(("<h\(level)>" + inline(String(text)) + "</h\(level)>", false))
            } else if trimmed.hasPrefix(">") {
                flushParagraph()
                var quoted = [String(trimmed.dropFirst().drop { $0 == " " })]
                while let next = lines.first?.trimmingLeadingSpaces(), next.hasPrefix(">") {
                    quoted.append(String(next.dropFirst().drop { $0 == " " }))
                    lines.removeFirst()
                }
                blocks.append(("<blockquote>" + quoted.map(inline).joined(separator: "<br/>") + "</blockquote>", false))
            } else if listItem(trimmed) != nil {
                flushParagraph()
                let ordered = listItem(trimmed)!.ordered
                var items = [listItem(trimmed)!.text]
                while let next = lines.first?.trimmingLeadingSpaces(), let item = listItem(next), item.ordered == ordered {
                    items.append(item.text)
                    lines.removeFirst()
                }
                let tag = ordered ? "ol" : "ul"
                blocks.append(("<\(tag)>" + items.map { "<li>" + inline($0) + "</li>" }.joined() + "</\(tag)>", false))
            } else if trimmed.isEmpty {
                flushParagraph()
            } else {
                paragraph.append(line)
            }
        }
        flushParagraph()
        if blocks.count == 1, blocks[0].paragraph { return blocks[0].html }
        return blocks.map { $0.paragraph ? "<p>\($0.html)</p>" : $0.html }.joined()
    }

    private static func headingLevel(_ line: String) -> Int? {
        let hashes = line.prefix { $0 == "#" }.count
        guard (1...6).contains(hashes), line.dropFirst(hashes).first == " " else { return nil }
        return hashes
    }

    private static func listItem(_ line: String) -> (ordered: Bool, text: String)? {
        if line.hasPrefix("- ") || line.hasPrefix("* ") || line.hasPrefix("+ ") { return (false, String(line.dropFirst(2))) }
        let digits = line.prefix { $0.isASCII && $0.isNumber }
        if !digits.isEmpty, digits.count < 10, line.dropFirst(digits.count).hasPrefix(". ") {
            return (true, String(line.dropFirst(digits.count + 2)))
        }
        return nil
    }

    /// Inline spans: code, links, bold, italic, strikethrough; everything else is escaped text.
    static func inline(_ text: String) -> String {
        var out = ""
        var rest = Substring(text)
        while let ch = rest.first {
            if ch == "`", let end = rest.dropFirst().firstIndex(of: "`") {
                out += "<code>" + escape(String(rest[rest.index(after: rest.startIndex)..<end])) + "</code>"
                rest = rest[rest.index(after: end)...]
            } else if ch == "[", let link = parseLink(rest) {
                // A label that reads as another address shows the real target instead (no masked phishing links).
                let label = MaskedLink.isDeceptive(label: link.label, target: link.url) ? escape(link.url) : inline(link.label)
                out += isAllowedLink(link.url) ? "<a href=\"\(escape(link.url))\">\(label)</a>" : label
                rest = link.rest
            } else if let (marker, tag) = emphasis(rest), let end = closing(marker, in: rest.dropFirst(marker.count)) {
                let inner = rest[rest.index(rest.startIndex, offsetBy: marker.count)..<end]
                out += "<\(tag)>" + inline(String(inner)) + "</\(tag)>"
                rest = rest[rest.index(end, offsetBy: marker.count)...]
            } else {
                out += escape(String(ch))
                rest = rest.dropFirst()
            }
        }
        return out
    }

    private static func emphasis(_ s: Substring) -> (String, String)? {
        for (marker, tag) in [("**", "strong"), ("__", "strong"), ("~~", "del"), ("*", "em"), ("_", "em")] where s.hasPrefix(marker) {
            // A marker followed by a space is literal (`2 * 3`).
            let after = s.dropFirst(marker.count)
            guard let next = after.first, !next.isWhitespace else { return nil }
            return (marker, tag)
        }
        return nil
    }

    private static func closing(_ marker: String, in s: Substring) -> Substring.Index? {
        var search = s
        while let range = search.range(of: marker) {
            let before = s[..<range.lowerBound].last
            if range.lowerBound > s.startIndex, let before, !before.isWhitespace {
                // `**` must not be read as a closing `*` pair half.
                if marker.count == 1, s[range.upperBound...].hasPrefix(marker) {
                    search = s[s.index(after: range.upperBound)...]
                    continue
                }
                return range.lowerBound
            }
            search = s[range.upperBound...]
        }
        return nil
    }

    private static func parseLink(_ s: Substring) -> (label: String, url: String, rest: Substring)? {
        guard let closeLabel = s.firstIndex(of: "]") else { return nil }
        let afterLabel = s[s.index(after: closeLabel)...]
        guard afterLabel.first == "(", let closeURL = afterLabel.firstIndex(of: ")") else { return nil }
        let label = String(s[s.index(after: s.startIndex)..<closeLabel])
        let url = String(afterLabel[afterLabel.index(after: afterLabel.startIndex)..<closeURL]).trimmingLeadingSpaces()
        guard !label.contains("["), !url.isEmpty else { return nil }
        return (label, url, afterLabel[afterLabel.index(after: closeURL)...])
    }
}

extension String {
    fileprivate func trimmingLeadingSpaces() -> String { String(drop { $0 == " " || $0 == "\t" }) }
    fileprivate func replacingNewlines() -> String {
        split(separator: "\n", omittingEmptySubsequences: false).joined(separator: "<br/>")
    }
}

import Foundation

/// One lorebook key compiled for matching: `/…/flags` regex, whole word, or substring (SillyTavern's rules).
struct LorebookKeyMatcher {
    /// How the key matches.
    enum Kind {
        case regex(NSRegularExpression)
        case wholeWord(NSRegularExpression)
        case substring(String, caseSensitive: Bool)
        /// An invalid regex or an empty key: matches nothing.
        case never(reason: String)
    }

    /// The key as written.
    let key: String
    /// The compiled form.
    let kind: Kind

    /// Compiles `key`: a `/pattern/flags` key is a regex (flags i, m, s; g, u, y accepted and ignored), a
    /// single-word key matches whole words unless `matchWholeWords` is false, otherwise a substring.
    init(_ key: String, caseSensitive: Bool, matchWholeWords: Bool) {
        self.key = key
        let trimmed = key.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.isEmpty {
            kind = .never(reason: "the key is empty")
        } else if let (pattern, flags) = Self.regexLiteral(trimmed) {
            var options: NSRegularExpression.Options = []
            if flags.contains("i") { options.insert(.caseInsensitive) }
            if flags.contains("m") { options.insert(.anchorsMatchLines) }
            if flags.contains("s") { options.insert(.dotMatchesLineSeparators) }
            do {
                kind = .regex(try NSRegularExpression(pattern: pattern, options: options))
            } catch {
                kind = .never(reason: "invalid regular expression /\(pattern)/\(flags)")
            }
        } else if matchWholeWords && !trimmed.contains(where: \.isWhitespace) {
            let pattern = "(?:^|\\W)(" + NSRegularExpression.escapedPattern(for: trimmed) + ")(?:$|\\W)"
            // An escaped literal always compiles; the fallback keeps this total without a crash path.
            if let regex = try? NSRegularExpression(pattern: pattern, options: caseSensitive ? [] : [.caseInsensitive]) {
                kind = .wholeWord(regex)
            } else {
                kind = .substring(trimmed, caseSensitive: caseSensitive)
            }
        } else {
            kind = .substring(trimmed, caseSensitive: caseSensitive)
        }
    }

    /// Splits `/pattern/flags`, as SillyTavern's `parseRegexFromString` does; nil when the key is not in that form.
    static func regexLiteral(_ key: String) -> (pattern: String, flags: String)? {
        guard key.count >= 3, key.hasPrefix("/"), let close = key.lastIndex(of: "/"), close > key.startIndex else {
            return nil
        }
        let pattern = String(key[key.index(after: key.startIndex)..<close])
        let flags = String(key[key.index(after: close)...])
        guard !pattern.isEmpty, flags.allSatisfy({ "gimsuy".contains($0) }) else { return nil }
        return (pattern, flags)
    }

    /// Why the key can never match, if it cannot.
    var problem: String? {
        if case .never(let reason) = kind { reason } else { nil }
    }

    /// Whether the key occurs in `text`.
    func matches(_ text: String) -> Bool {
        switch kind {
        case .regex(let regex), .wholeWord(let regex):
            return regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
        case .substring(let needle, let caseSensitive):
            return text.range(of: needle, options: caseSensitive ? [] : [.caseInsensitive]) != nil
        case .never:
            return false
        }
    }
}

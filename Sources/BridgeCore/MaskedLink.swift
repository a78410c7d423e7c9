/// Masked links (`[https://bank.example](https://evil.example)`) in model output: a label that looks like one
/// address while the link goes to another is a phishing shape, whatever the model meant.
public enum MaskedLink {
    /// Whether a link label reads as a web address (`https://…`, `www.…`, or a bare `host.tld/…`).
    public static func labelLooksLikeURL(_ label: String) -> Bool {
        let text = normalized(label)
        if text.contains("://") || text.hasPrefix("www.") { return true }
        // A bare domain: no spaces, a dot followed by letters somewhere in the first path-free part.
        guard !text.contains(" "), let host = text.split(separator: "/").first, host.contains(".") else { return false }
        return host.split(separator: ".").last.map { $0.count >= 2 && $0.allSatisfy(\.isLetter) } ?? false
    }

    /// Whether a URL-looking label names the same address as the target (case, scheme, `<>` and a trailing `/`
    /// aside), so the link hides nothing.
    public static func labelMatchesTarget(_ label: String, _ target: String) -> Bool {
        func key(_ s: String) -> String {
            var t = normalized(s)
            for scheme in ["https://", "http://"] where t.hasPrefix(scheme) { t.removeFirst(scheme.count) }
            if t.hasPrefix("www.") { t.removeFirst(4) }
            while t.hasSuffix("/") { t.removeLast() }
            return t
        }
        return key(label) == key(target)
    }

    /// Whether the link must not be shown as its label: the label is a URL and not the target's.
    public static func isDeceptive(label: String, target: String) -> Bool {
        labelLooksLikeURL(label) && !labelMatchesTarget(label, target)
    }

    private static func normalized(_ s: String) -> String {
        var t = Substring(s.lowercased())
        while let first = t.first, first == " " || first == "<" || first == "`" { t = t.dropFirst() }
        while let last = t.last, last == " " || last == ">" || last == "`" { t = t.dropLast() }
        return String(t)
    }

    /// Markdown with every deceptive `[label](target)` rewritten as `label (target)`: both addresses in plain
    /// sight, nothing masked. Other links and text are untouched.
    public static func defused(_ text: String) -> String {
        guard text.contains("](") else { return text }
        var out = ""
        var rest = Substring(text)
        while let open = rest.firstIndex(of: "[") {
            out += rest[..<open]
            let candidate = rest[open...]
            guard let close = candidate.firstIndex(of: "]"),
                  candidate[candidate.index(after: close)...].hasPrefix("("),
                  let end = candidate[close...].firstIndex(of: ")") else {
                out.append("[")
                rest = rest[rest.index(after: open)...]
                continue
            }
            let label = String(candidate[candidate.index(after: open)..<close])
            var target = String(candidate[candidate.index(close, offsetBy: 2)..<end])
            target = target.trimmingCharacters(in: [" ", "<", ">"])
            if !label.contains("["), isDeceptive(label: label, target: target) {
                out += "\(label) (\(target))"
            } else {
                out += candidate[...end]
            }
            rest = candidate[candidate.index(after: end)...]
        }
        out += rest
        return out
    }
}

extension String {
    fileprivate func trimmingCharacters(in set: Set<Character>) -> String {
        guard let first = firstIndex(where: { !set.contains($0) }), let last = lastIndex(where: { !set.contains($0) }) else {
            return ""
        }
        return String(self[first...last])
    }
}

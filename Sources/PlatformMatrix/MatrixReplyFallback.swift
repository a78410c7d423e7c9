/// Removes the reply fallbacks older clients put in replies: leading `> ` quote lines in `body`
/// (plus the blank line after them) and an `<mx-reply>…</mx-reply>` block in `formatted_body`.
public enum MatrixReplyFallback {
    /// `body` without its leading quote block.
    public static func stripBody(_ body: String) -> String {
        var lines = body.split(separator: "\n", omittingEmptySubsequences: false)
        guard lines.first?.hasPrefix(">") == true else { return body }
        while let first = lines.first, first.hasPrefix(">") { lines.removeFirst() }
        if lines.first?.isEmpty == true { lines.removeFirst() }
        return lines.joined(separator: "\n")
    }

    /// `formatted_body` without its `<mx-reply>` block.
    public static func stripHTML(_ html: String) -> String {
        guard let start = html.range(of: "<mx-reply>"), let end = html.range(of: "</mx-reply>", range: start.upperBound..<html.endIndex)
        else { return html }
        return String(html[..<start.lowerBound] + html[end.upperBound...])
    }
}

/// Builds `m.room.message` contents for what the bridge sends.
public enum MatrixContent {
    /// The HTML format name.
    public static let htmlFormat = "org.matrix.custom.html"
    /// Content above this many bytes goes out without HTML, to stay under the 64 KiB event limit.
    public static let maxContentBytes = 48 * 1024

    /// A text message: plain `body` always, sanitised `formatted_body` when the Markdown has formatting.
    public static func message(_ text: String, replyTo: String? = nil) -> MatrixJSON {
        var content = plain(text)
        if let replyTo {
            content["m.relates_to"] = ["m.in_reply_to": ["event_id": .string(replyTo)]]
        }
        return fitting(.object(content))
    }

    /// An edit of `original`: `* ` fallback for clients without edits, the full new content in `m.new_content`.
    /// An edit of a reply does not repeat `m.in_reply_to`.
    public static func edit(of original: String, newText text: String) -> MatrixJSON {
        var content = plain(text)
        content["body"] = .string("* " + text)
        if let html = content["formatted_body"]?.string { content["formatted_body"] = .string("* " + html) }
        content["m.new_content"] = .object(plain(text))
        content["m.relates_to"] = ["rel_type": "m.replace", "event_id": .string(original)]
        return fitting(.object(content))
    }

    /// Drops the HTML (top level and in `m.new_content`) when the event would be too large; `body` stays.
    static func fitting(_ content: MatrixJSON) -> MatrixJSON {
        guard content.bytes.count > maxContentBytes, var object = content.object else { return content }
        object["format"] = nil
        object["formatted_body"] = nil
        if var new = object["m.new_content"]?.object {
            new["format"] = nil
            new["formatted_body"] = nil
            object["m.new_content"] = .object(new)
        }
        return .object(object)
    }

    private static func plain(_ text: String) -> [String: MatrixJSON] {
        // An empty `m.mentions` tells clients and servers nobody is mentioned: model text never pings (no body matching).
        var content: [String: MatrixJSON] = ["msgtype": "m.text", "body": .string(text), "m.mentions": [:]]
        if let html = MatrixMarkdown.html(text) {
            content["format"] = .string(htmlFormat)
            content["formatted_body"] = .string(html)
        }
        return content
    }
}

@testable import PlatformMatrix
import Testing

/// The tags in an HTML string (opening and closing), lower-cased.
func tags(in html: String) -> [String] {
    var out: [String] = []
    var rest = Substring(html)
    while let open = rest.firstIndex(of: "<") {
        let after = rest[rest.index(after: open)...]
        let name = after.drop { $0 == "/" }.prefix { $0.isLetter || $0.isNumber }
        out.append(name.lowercased())
        rest = after
    }
    return out
}

/// Every `href` value in an HTML string.
func hrefs(in html: String) -> [String] {
    html.components(separatedBy: "href=\"").dropFirst().map { String($0.prefix { $0 != "\"" }) }
}

@Suite struct MatrixFormattingTests {
    @Test func markdownBecomesHTML() {
        #expect(MatrixMarkdown.html("plain words") == nil)
        #expect(MatrixMarkdown.html("a **bold** and *soft* `x<y`") == "a <strong>bold</strong> and <em>soft</em> <code>x&lt;y</code>")
        #expect(MatrixMarkdown.html("see [docs](https://example.org/a?b=1&c=2)") == "see <a href=\"https://example.org/a?b=1&amp;c=2\">docs</a>")
        #expect(MatrixMarkdown.html("- one\n- two") == "<ul><li>one</li><li>two</li></ul>")
        #expect(MatrixMarkdown.html("```\n<b>\n```") == "<pre><code>&lt;b&gt;</code></pre>")
        #expect(MatrixMarkdown.html("2 * 3 * 4") == nil)
    }

    @Test func hostileModelOutputOnlyYieldsAllowedHTML() {
        let hostile = """
            <script>alert(1)</script> **hi** <img src=http://evil.example/x.png onerror=alert(1)>
            [click](javascript:alert(1)) [data](data:text/html;base64,xx) [ok](https://fine.example) <a href="javascript:x">raw</a>
            [sp](java\tscript:alert(1)) <iframe src="x"></iframe> *<b onclick=x>*
            """
        let html = MatrixMarkdown.html(hostile)!
        #expect(Set(tags(in: html)).isSubset(of: MatrixMarkdown.emittedTags))
        #expect(!html.contains("<script"))
        #expect(!html.contains("<img"))
        #expect(!html.lowercased().contains("javascript:\""))
        #expect(hrefs(in: html) == ["https://fine.example"])
        #expect(html.contains("&lt;script&gt;"))
        let content = MatrixContent.message(hostile)
        #expect(content["body"]?.string == hostile)
        #expect(content["format"]?.string == "org.matrix.custom.html")
    }

    @Test func fuzzedMarkdownStaysWithinAllowedTags() {
        var rng = SplitMix(seed: 42)
        let pieces = ["<", ">", "*", "**", "_", "`", "```", "[", "]", "(", ")", "javascript:", "http://x", "\n", "# ", "- ",
                      "> ", "1. ", "a", " ", "\"", "&", "<script>", "<img src=http://x>", "~~", "mxc://y"]
        for _ in 0..<2000 {
            let text = (0..<Int(rng.next() % 30)).map { _ in pieces[Int(rng.next() % UInt64(pieces.count))] }.joined()
            guard let html = MatrixMarkdown.html(text) else { continue }
            #expect(Set(tags(in: html)).isSubset(of: MatrixMarkdown.emittedTags), "\(text) → \(html)")
            for href in hrefs(in: html) { #expect(MatrixMarkdown.isAllowedLink(href), "\(href)") }
        }
    }

    @Test func replyFallbackIsStripped() {
        #expect(MatrixReplyFallback.stripBody("> <@a:x> earlier\n> more\n\nmy answer") == "my answer")
        #expect(MatrixReplyFallback.stripBody("no quote") == "no quote")
        #expect(MatrixReplyFallback.stripHTML("<mx-reply><blockquote>q</blockquote></mx-reply>answer") == "answer")
    }

    @Test func editContentHasFallbackAndFullNewContent() {
        let edit = MatrixContent.edit(of: "$orig", newText: "now **bold**")
        #expect(edit["body"]?.string == "* now **bold**")
        #expect(edit["formatted_body"]?.string == "* now <strong>bold</strong>")
        #expect(edit["m.new_content"]?["body"]?.string == "now **bold**")
        #expect(edit["m.new_content"]?["formatted_body"]?.string == "now <strong>bold</strong>")
        #expect(edit["m.new_content"]?["msgtype"]?.string == "m.text")
        #expect(edit["m.relates_to"]?["rel_type"]?.string == "m.replace")
        #expect(edit["m.relates_to"]?["event_id"]?.string == "$orig")
        #expect(edit["m.new_content"]?["m.relates_to"] == nil)
        let reply = MatrixContent.message("hi", replyTo: "$t")
        #expect(reply["m.relates_to"]?["m.in_reply_to"]?["event_id"]?.string == "$t")
        #expect(reply["formatted_body"] == nil)
        #expect(reply["m.mentions"] == [:])
        #expect(edit["m.mentions"] == [:])
        #expect(edit["m.new_content"]?["m.mentions"] == [:])
    }

    @Test func oversizedContentFallsBackToPlainBody() {
        // Within the platform's 4000-character limit, but quotes grow six-fold as HTML, twice over in an edit.
        let text = "**" + String(repeating: "\"", count: 3990) + "**"
        #expect(MatrixContent.message(text)["formatted_body"] != nil)
        let edit = MatrixContent.edit(of: "$o", newText: text)
        #expect(edit.bytes.count < 64 * 1024)
        #expect(edit["formatted_body"] == nil)
        #expect(edit["m.new_content"]?["formatted_body"] == nil)
        #expect(edit["m.new_content"]?["body"]?.string == text)
        #expect(MatrixContent.message("**short**")["formatted_body"]?.string == "<strong>short</strong>")
    }

    @Test func transactionIDsAreDerivedAndStable() {
        let a = MatrixTransactionID.reply(room: "!r:x", trigger: "$t", part: 0, text: "Hel")
        #expect(a == MatrixTransactionID.reply(room: "!r:x", trigger: "$t", part: 0, text: "Hel"))
        #expect(a != MatrixTransactionID.reply(room: "!r:x", trigger: "$t", part: 1, text: "Hel"))
        #expect(a != MatrixTransactionID.reply(room: "!r:x", trigger: "$u", part: 0, text: "Hel"))
        #expect(MatrixTransactionID.edit(base: a, edit: 3) == a + ".e3")
        #expect(MatrixTransactionID.digest("") == "cbf29ce484222325")
    }
}

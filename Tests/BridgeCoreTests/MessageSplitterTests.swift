import BridgeCore
import Testing

@Suite struct MessageSplitterTests {
    @Test func shortTextIsOnePart() {
        let splitter = MessageSplitter(limit: .characters(100))
        #expect(splitter.split("Hello there.") == ["Hello there."])
    }

    @Test func prefersParagraphThenSentenceThenWord() {
        let splitter = MessageSplitter(limit: .characters(40))
        #expect(splitter.split("First paragraph is here.\n\nSecond one follows it.")
            == ["First paragraph is here.", "Second one follows it."])
        #expect(splitter.split("One sentence here. Another sentence that is long.")
            == ["One sentence here.", "Another sentence that is long."])
        #expect(splitter.split("words words words words words words words words")
            == ["words words words words words words", "words words"])
    }

    @Test func fiveThousandCharactersWithoutSpaces() {
        let text = String(repeating: "abcdefghij", count: 500)
        let parts = MessageSplitter(limit: .characters(2000)).split(text)
        #expect(parts.map(\.count) == [2000, 2000, 1000])
        #expect(parts.joined() == text)
    }

    @Test func byteLimitCountsUTF8() {
        let text = String(repeating: "é", count: 300)   // 2 bytes each
        let parts = MessageSplitter(limit: .utf8Bytes(256)).split(text)
        #expect(parts.allSatisfy { $0.utf8.count <= 256 })
        #expect(parts.map(\.count) == [128, 128, 44])
        #expect(parts.joined() == text)
    }

    @Test func openCodeFenceIsClosedAndReopened() {
        let code = (1...30).map { "let value\($0) = \($0)" }.joined(separator: "\n")
        let text = "Here is code:\n```swift\n\(code)\n```\nDone."
        let splitter = MessageSplitter(limit: .characters(200))
        let parts = splitter.split(text)
        #expect(parts.count > 1)
        for (index, part) in parts.enumerated() {
            #expect(part.count <= 200)
            // Every part has balanced fences, and continuation parts reopen with the language.
            let fences = part.split(separator: "\n", omittingEmptySubsequences: false).filter { $0.hasPrefix("```") }
            #expect(fences.count % 2 == 0, "part \(index) has an unbalanced fence: \(part)")
            if index > 0, index < parts.count - 1 { #expect(part.hasPrefix("```swift\n")) }
        }
        // No code line is lost or cut.
        let lines = Set(parts.joined(separator: "\n").split(separator: "\n").map(String.init))
        for n in 1...30 { #expect(lines.contains("let value\(n) = \(n)")) }
        #expect(parts.last?.hasSuffix("Done.") == true)
    }

    @Test func splittingIsPrefixStable() {
        let text = (1...80).map { "Sentence number \($0) is here." }.joined(separator: " ")
        let splitter = MessageSplitter(limit: .characters(300))
        let full = splitter.split(text)
        var end = text.startIndex
        while end < text.endIndex {
            end = text.index(end, offsetBy: 37, limitedBy: text.endIndex) ?? text.endIndex
            let parts = splitter.split(String(text[..<end]))
            // All but the last part are final and match the full split.
            for i in 0..<(parts.count - 1) { #expect(parts[i] == full[i]) }
        }
    }
}

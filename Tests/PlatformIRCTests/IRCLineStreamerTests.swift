import Testing
@testable import PlatformIRC

@Suite struct IRCLineStreamerTests {
    @Test func emitsAtNewlineAndSentenceEndOnlyWhenMoreTextFollows() {
        var s = IRCLineStreamer(budget: 400)
        #expect(s.append("Hello there.") == [])
        #expect(s.append(" ") == [])
        #expect(s.append("How") == ["Hello there."])
        #expect(s.append(" are you? Pi is 3.") == ["How are you?"])
        #expect(s.append("14 indeed\nnext") == ["Pi is 3.14 indeed"])
        #expect(s.append("...") == [])
        #expect(s.append(" ok\"") == ["next..."])
        #expect(s.finish() == ["ok\""])
        #expect(s.finish() == [])
    }

    @Test func budgetCutsAndNothingIsLostOrRepeated() {
        var rng = SeededRNG(seed: 7)
        let words = ["alpha", "βeta", "日本", "😀", "end.", "wow!", "x\n", "long-word-without-breaks"]
        var text = ""
        while text.utf8.count < 5_000 { text += words.randomElement(using: &rng)! + " " }
        var s = IRCLineStreamer(budget: 60)
        var emitted: [String] = []
        var rest = Substring(text)
        while !rest.isEmpty {
            let n = Int.random(in: 1...12, using: &rng)
            let piece = rest.prefix(n)
            rest = rest.dropFirst(piece.count)
            emitted += s.append(String(piece))
        }
        let beforeFinish = emitted.count
        emitted += s.finish()
        #expect(beforeFinish > 50)
        for line in emitted { #expect(line.utf8.count <= 60 && !line.isEmpty) }
        #expect(emitted.joined().filter { !$0.isWhitespace } == text.filter { !$0.isWhitespace })
    }
}

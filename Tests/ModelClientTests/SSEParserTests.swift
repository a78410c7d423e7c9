import Testing

@testable import ModelClient

@Suite struct SSEParserTests {
    private func parse(_ text: String) -> [SSEEvent] {
        var parser = SSEParser()
        return parser.feed(Array(text.utf8))
    }

    @Test func lineEndingsAreEquivalent() {
        let lf = parse("data: a\n\ndata: b\n\n")
        let crlf = parse("data: a\r\n\r\ndata: b\r\n\r\n")
        let cr = parse("data: a\r\rdata: b\r\r")
        #expect(lf == [SSEEvent(data: "a"), SSEEvent(data: "b")])
        #expect(crlf == lf)
        #expect(cr == lf)
    }

    @Test func crAtChunkEndFollowedByLFIsOneLineEnd() {
        var parser = SSEParser()
        var events = parser.feed(Array("data: a\r".utf8))
        events += parser.feed(Array("\n".utf8))
        events += parser.feed(Array("\r".utf8))
        events += parser.feed(Array("\ndata: b\r\n\r\n".utf8))
        #expect(events == [SSEEvent(data: "a"), SSEEvent(data: "b")])
    }

    @Test func multiLineDataCommentsAndFields() {
        let events = parse(
            ": OPENROUTER PROCESSING\n\nevent: update\nid: 7\nretry: 1500\ndata: line one\ndata:line two\ndata\n\n"
                + "data: after\n\n")
        #expect(events == [
            SSEEvent(type: "update", data: "line one\nline two\n", lastEventID: "7"),
            SSEEvent(data: "after", lastEventID: "7"),
        ])
        var parser = SSEParser()
        _ = parser.feed(Array(": keep-alive\nretry: 12x\n\nretry: 250\n\n: two\n".utf8))
        #expect(parser.retryMilliseconds == 250)
        #expect(parser.commentCount == 2)
    }

    @Test func emptyDataIsDispatchedButNoDataIsNot() {
        #expect(parse("data:\n\n") == [SSEEvent(data: "")])
        #expect(parse("event: x\n\ndata: y\n\n") == [SSEEvent(data: "y")])
    }

    @Test func onlyOneLeadingSpaceIsStripped() {
        #expect(parse("data:  two\n\n") == [SSEEvent(data: " two")])
        #expect(parse("data:x:y\n\n") == [SSEEvent(data: "x:y")])
    }

    @Test func idWithNulIsIgnored() {
        #expect(parse("id: 1\ndata: a\n\nid: 2\u{0}\ndata: b\n\n").map(\.lastEventID) == ["1", "1"])
    }

    @Test func leadingBOMIsStrippedOnceEvenWhenSplit() {
        let bytes: [UInt8] = [0xEF, 0xBB, 0xBF] + Array("data: a\n\n".utf8)
        for cut in 0...bytes.count {
            var parser = SSEParser()
            let events = parser.feed(bytes[0..<cut]) + parser.feed(bytes[cut...])
            #expect(events == [SSEEvent(data: "a")], "cut at \(cut)")
        }
        // A second BOM is data (field name), not stripped.
        #expect(parse("\u{FEFF}\u{FEFF}data: a\n\n") == [])
        // Bytes that only start like a BOM are kept.
        var parser = SSEParser()
        let events = parser.feed([0xEF]) + parser.feed(Array("data: a\n\n".utf8))
        #expect(events.isEmpty)
    }

    @Test func unterminatedEventIsDiscardedAtEnd() {
        var parser = SSEParser()
        let events = parser.feed(Array("data: a\n\ndata: partial\n".utf8))
        #expect(events == [SSEEvent(data: "a")])
        let dropped = parser.finish()
        #expect(dropped)
    }

    @Test func multiByteCharactersSplitAcrossChunks() {
        let bytes = Array("data: héllo 👋 wörld\n\n".utf8)
        for cut in 0...bytes.count {
            var parser = SSEParser()
            let events = parser.feed(bytes[0..<cut]) + parser.feed(bytes[cut...])
            #expect(events == [SSEEvent(data: "héllo 👋 wörld")])
        }
    }
}

import Testing
@testable import SocketTransport

@Suite("LineSplitter")
struct LineSplitterTests {
    @Test("CR LF and LF terminators, many lines per chunk, lines across chunks")
    func splitting() throws {
        var splitter = LineSplitter()
        #expect(try splitter.feed(Array("a\r\nb\nc".utf8)) == [Array("a".utf8), Array("b".utf8)])
        #expect(try splitter.feed(Array("d\r".utf8)) == [])
        #expect(try splitter.feed(Array("\n\n".utf8)) == [Array("cd".utf8), []])
        #expect(splitter.bufferedCount == 0)
    }

    @Test("every split point of a byte stream gives the same lines")
    func everySplitPoint() throws {
        let stream: [UInt8] = Array("PING :x\r\n".utf8) + [0xFF, 0xE9, 0x0D, 0x0A] + Array("last\n".utf8)
        let expected: [[UInt8]] = [Array("PING :x".utf8), [0xFF, 0xE9], Array("last".utf8)]
        for cut in 0...stream.count {
            var splitter = LineSplitter()
            let lines = try splitter.feed(Array(stream[..<cut])) + splitter.feed(Array(stream[cut...]))
            #expect(lines == expected, "cut at \(cut)")
        }
    }

    @Test("a line over the bound throws, with or without its terminator")
    func bound() {
        var complete = LineSplitter(maxLineLength: 4)
        #expect(throws: LineSplitter.LineTooLong(maxLineLength: 4)) { try complete.feed(Array("12345\r\n".utf8)) }
        var unterminated = LineSplitter(maxLineLength: 4)
        #expect(throws: LineSplitter.LineTooLong(maxLineLength: 4)) { try unterminated.feed(Array("123456".utf8)) }
        var exact = LineSplitter(maxLineLength: 4)
        #expect((try? exact.feed(Array("1234\r\n".utf8))) == [Array("1234".utf8)])
    }
}

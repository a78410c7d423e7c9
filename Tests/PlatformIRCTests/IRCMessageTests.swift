import Testing
@testable import PlatformIRC

/// Deterministic SplitMix64 so the fuzz run is reproducible.
struct SeededRNG: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite struct IRCMessageTests {
    @Test func parsesFullLineWithTagsPrefixAndTrailing() throws {
        let m = try IRCMessage(parsing: Array("@time=2024-01-01T00:00:00Z;msgid=a\\sb\\:c\\\\d\\r\\n;+draft :nick!user@host PRIVMSG #chan :hello there\r\n".utf8))
        #expect(m.tags == [
            IRCTag(key: "time", value: "2024-01-01T00:00:00Z"),
            IRCTag(key: "msgid", value: "a b;c\\d\r\n"),
            IRCTag(key: "+draft", value: nil),
        ])
        #expect(m.prefix == IRCPrefix(nick: "nick", user: "user", host: "host"))
        #expect(m.command == "PRIVMSG")
        #expect(m.params == ["#chan", "hello there"])
        #expect(m.tag("msgid") == "a b;c\\d\r\n")
    }

    @Test func parsesNumericAndServerPrefixAndMiddleParams() throws {
        let m = try IRCMessage(parsing: ":irc.example.net 001 bot :Welcome")
        #expect(m.prefix == IRCPrefix(nick: "irc.example.net"))
        #expect(m.isNumeric)
        #expect(m.params == ["bot", "Welcome"])
        let p = try IRCMessage(parsing: "ping   x  y")
        #expect(p.command == "PING")
        #expect(p.params == ["x", "y"])
    }

    @Test func rejectsBadLinesWithCodes() {
        #expect(throws: IRCParseError.self) { try IRCMessage(parsing: "   \r\n") }
        let e1 = #expect(throws: IRCParseError.self) { try IRCMessage(parsing: ":prefix.only") }
        #expect(e1?.code == .missingCommand)
        let e2 = #expect(throws: IRCParseError.self) { try IRCMessage(parsing: "PRIV#MSG x") }
        #expect(e2?.code == .invalidCommand)
        let e3 = #expect(throws: IRCParseError.self) { try IRCMessage(parsing: "1234 x") }
        #expect(e3?.code == .invalidCommand)
    }

    @Test func invalidUTF8FallsBackToLatin1() throws {
        let bytes = Array("PRIVMSG #c :caf".utf8) + [0xE9, 0x20, 0xFF]
        let m = try IRCMessage(parsing: bytes)
        #expect(m.params.last == "caf\u{E9} \u{FF}")
        let ok = try IRCMessage(parsing: Array("PRIVMSG #c :café 😀".utf8))
        #expect(ok.params.last == "café 😀")
    }

    @Test func serializerStripsLineBreaksAndQuotesTrailing() {
        let m = IRCMessage(command: "PRIVMSG", params: ["#c", "hi\r\nQUIT :bye\0"])
        #expect(m.serialized == "PRIVMSG #c :hiQUIT :bye")
        #expect(!m.wireBytes.dropLast(2).contains(0x0D))
        #expect(IRCMessage(command: "PONG", params: [":x"]).serialized == "PONG ::x")
        #expect(IRCMessage(command: "PONG", params: [""]).serialized == "PONG :")
        #expect(IRCMessage(command: "JOIN", params: ["#a b", "k"]).serialized == "JOIN #ab k")
    }

    @Test func fuzzNeverCrashesAndValidMessagesRoundTrip() throws {
        var rng = SeededRNG(seed: 0x5EED_1234)
        let alphabet: [UInt8] = Array("@:;= !\\\r\n\0#abcXYZ019".utf8) + [0xC3, 0xA9, 0xFF, 0xF0, 0x9F, 0x98, 0x80, 0x01, 0x03]
        var parsed = 0
        for _ in 0..<100_000 {
            let length = Int.random(in: 0...80, using: &rng)
            var bytes: [UInt8] = []
            for _ in 0..<length {
                if Bool.random(using: &rng) {
                    bytes.append(alphabet[Int.random(in: 0..<alphabet.count, using: &rng)])
                } else {
                    bytes.append(UInt8.random(in: 0...255, using: &rng))
                }
            }
            if let m = try? IRCMessage(parsing: bytes) {
                parsed += 1
                // Re-serializing anything parsed must yield a line that parses again.
                _ = try IRCMessage(parsing: m.serializedBytes)
            }
        }
        #expect(parsed > 0)

        // Round-trip property on generated valid messages.
        let wordChars = Array("abcxyzABC019-_[]{}#&|^`éü日本😀")
        let textChars = wordChars + [" ", ":", ";", "\\", "="]
        func word(_ maxLen: Int) -> String {
            String((0..<Int.random(in: 1...maxLen, using: &rng)).map { _ in wordChars.randomElement(using: &rng)! })
        }
        func text(_ maxLen: Int) -> String {
            String((0..<Int.random(in: 0...maxLen, using: &rng)).map { _ in textChars.randomElement(using: &rng)! })
        }
        for _ in 0..<10_000 {
            var m = IRCMessage(command: Bool.random(using: &rng) ? "PRIVMSG" : String(format3(Int.random(in: 0...999, using: &rng))))
            for _ in 0..<Int.random(in: 0...3, using: &rng) {
                m.tags.append(IRCTag(key: word(6), value: Bool.random(using: &rng) ? text(10) + "\r\n" : nil))
            }
            if Bool.random(using: &rng) {
                m.prefix = IRCPrefix(nick: word(5), user: Bool.random(using: &rng) ? word(4) : nil, host: word(8))
            }
            for _ in 0..<Int.random(in: 0...4, using: &rng) { m.params.append(word(8)) }
            if Bool.random(using: &rng) { m.params.append(text(30)) }
            let back = try IRCMessage(parsing: m.wireBytes)
            #expect(back == m, "round trip of \(m.serialized)")
        }
    }

    private func format3(_ n: Int) -> String {
        let s = String(n)
        return String(repeating: "0", count: 3 - s.count) + s
    }
}

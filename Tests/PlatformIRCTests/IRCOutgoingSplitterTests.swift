import Testing
@testable import PlatformIRC

@Suite struct IRCOutgoingSplitterTests {
    let splitter = IRCOutgoingSplitter(nick: "aria", user: "~aria", host: "localhost")

    /// The line as the server relays it: our full prefix plus the serialized message plus CRLF.
    func relayedLength(_ m: IRCMessage) -> Int {
        var relayed = m
        relayed.prefix = IRCPrefix(nick: splitter.nick, user: splitter.user, host: splitter.host)
        return relayed.wireBytes.count
    }

    func squash(_ s: String) -> String { String(s.filter { !$0.isWhitespace }) }

    @Test func budgetMatchesPrefixFormula() {
        let overhead = ":aria!~aria@localhost PRIVMSG #chan :".utf8.count
        #expect(splitter.budget(target: "#chan") == 510 - overhead)
        #expect(splitter.budget(target: "#chan", action: true) == 510 - overhead - 9)
    }

    @Test func longReplyFitsAndLosesNothing() throws {
        var rng = SeededRNG(seed: 42)
        let words = ["hello", "wörld", "日本語のテキスト", "😀🎉", "👩‍👩‍👧‍👦", "a", "supercalifragilistic", "ça", "—"]
        var text = ""
        while text.utf8.count < 3_000 { text += words.randomElement(using: &rng)! + " " }
        text += String(repeating: "x", count: 700) // one unbreakable word
        let lines = try splitter.messages(for: text, target: "#chan")
        #expect(lines.count > 6)
        for line in lines {
            #expect(relayedLength(line) <= 512)
            #expect(line.command == "PRIVMSG" && line.params.first == "#chan")
        }
        let joined = lines.map { $0.params[1] }.joined()
        #expect(squash(joined) == squash(text))
        // Never broken: every piece is valid UTF-8 and no family emoji grapheme is split across lines.
        for line in lines {
            #expect(String(validating: line.params[1].utf8, as: UTF8.self) != nil)
            #expect(!line.params[1].unicodeScalars.last!.properties.isJoinControl)
        }
    }

    @Test func multiByteWithoutSpacesIsCutAtCharacterBoundaries() throws {
        let text = String(repeating: "漢😀", count: 400)
        let lines = try splitter.messages(for: text, target: "#c")
        #expect(lines.map { $0.params[1] }.joined() == text)
        for line in lines { #expect(relayedLength(line) <= 512) }
        let oversizedGrapheme = "e" + String(repeating: "\u{301}", count: 400)
        let pieces = try splitter.messages(for: oversizedGrapheme, target: "#c")
        #expect(pieces.map { $0.params[1] }.joined() == oversizedGrapheme)
        for line in pieces { #expect(relayedLength(line) <= 512) }
    }

    @Test func injectionNeverBecomesACommand() throws {
        let text = "sure thing\r\nQUIT :bye\r\nPRIVMSG #other :x\nJOIN #evil\rNICK x\0KICK"
        let lines = try splitter.messages(for: text, target: "#chan")
        #expect(lines.count == 5)
        for line in lines {
            #expect(line.command == "PRIVMSG")
            #expect(line.params.first == "#chan")
            let wire = line.wireBytes
            let forbidden: Set<UInt8> = [0x0D, 0x0A, 0x00]
            let body = wire.dropLast(2)
            let hasBreak = body.contains { forbidden.contains($0) }
            #expect(!hasBreak)
            let reparsed = try IRCMessage(parsing: wire)
            #expect(reparsed.command == "PRIVMSG" && reparsed.params.first == "#chan")
        }
        #expect(lines[1].params[1] == "QUIT :bye")
        #expect(lines[2].params[1] == "PRIVMSG #other :x")
    }

    @Test func actionsBecomeCTCPWhenConfigured() throws {
        var s = splitter
        s.actionMarker = "/me "
        let lines = try s.messages(for: "*waves*\n/me bows deeply\nplain *not* action", target: "#c")
        #expect(lines.map { $0.params[1] } == ["\u{01}ACTION waves\u{01}", "\u{01}ACTION bows deeply\u{01}", "plain *not* action"])
        s.actionsEnabled = false
        #expect(try s.messages(for: "*waves*", target: "#c").first?.params[1] == "*waves*")
        s.actionsEnabled = true
        let long = try s.messages(for: "/me " + String(repeating: "dances ", count: 200), target: "#c")
        for line in long {
            #expect(relayedLength(line) <= 512)
            #expect(IRCCTCP(parsing: line.params[1])?.isAction == true)
        }
    }

    @Test func learnsIdentityFromWelcomeWhoAndEcho() throws {
        var s = IRCOutgoingSplitter(nick: "aria")
        try s.learn(from: IRCMessage(parsing: ":srv 001 aria_ :Welcome to the net aria_!~aria@127.0.0.1"))
        #expect(s.nick == "aria_" && s.user == "~aria" && s.host == "127.0.0.1")
        try s.learn(from: IRCMessage(parsing: ":srv 352 aria_ #c ident cloak.example srv aria_ H :0 real"))
        #expect(s.user == "ident" && s.host == "cloak.example")
        try s.learn(from: IRCMessage(parsing: ":srv 396 aria_ vhost.example :is now your displayed host"))
        #expect(s.host == "vhost.example")
        try s.learn(from: IRCMessage(parsing: ":someone!x@y PRIVMSG #c :hi"))
        #expect(s.host == "vhost.example")
        try s.learn(from: IRCMessage(parsing: ":ARIA_!~a@echo.host PRIVMSG #c :hi"))
        #expect(s.user == "~a" && s.host == "echo.host")
        #expect(s.budget(target: "#c") == 510 - ":ARIA_!~a@echo.host PRIVMSG #c :".utf8.count)
    }

    @Test func identityUpdateChangesBudgetAndTinyBudgetFails() {
        var s = splitter
        let before = s.budget(target: "#c")
        s.updateIdentity(from: IRCPrefix(nick: "aria_", user: "~aria", host: "a.very.long.cloaked.host.example.org"))
        #expect(s.budget(target: "#c") == before - 1 - ("a.very.long.cloaked.host.example.org".utf8.count - "localhost".utf8.count))
        s.lineLength = 60
        let error = #expect(throws: IRCSplitError.self) { try s.messages(for: "hi", target: "#c") }
        #expect(error?.code == .noRoom)
    }
}

@Suite struct IRCFormattingTests {
    @Test func stripsAllFormattingCodes() {
        #expect(IRCFormatting.strip("\u{03}04,12red\u{03} \u{02}bold\u{02} \u{1D}it\u{1F}u\u{1E}s\u{11}m\u{16}r\u{0F}x") == "red bold itusmrx")
        #expect(IRCFormatting.strip("\u{03}5,text") == ",text")
        #expect(IRCFormatting.strip("\u{03}123") == "3")
        #expect(IRCFormatting.strip("\u{04}FF00aa,00FF00hex\u{04}plain") == "hexplain")
        #expect(IRCFormatting.strip("café 😀") == "café 😀")
    }

    @Test func detectsCTCP() {
        let action = IRCCTCP(parsing: "\u{01}ACTION waves hello\u{01}")
        #expect(action == IRCCTCP(command: "ACTION", argument: "waves hello"))
        #expect(action?.isAction == true)
        #expect(IRCCTCP(parsing: "\u{01}version")?.command == "VERSION")
        #expect(IRCCTCP(parsing: "hello") == nil)
        #expect(IRCCTCP(parsing: "\u{01}\u{01}") == nil)
        let ping = IRCCTCP(parsing: "\u{01}PING 12345\u{01}")!
        #expect(ping.reply(to: "bob", version: "PB")?.serialized == "NOTICE bob :\u{01}PING 12345\u{01}")
        #expect(IRCCTCP(command: "VERSION").reply(to: "bob", version: "PersonaBridge 1")?.params[1] == "\u{01}VERSION PersonaBridge 1\u{01}")
        #expect(action?.reply(to: "bob", version: "x") == nil)
    }
}

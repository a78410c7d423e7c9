import Testing
@testable import PlatformIRC

@Suite struct IRCIncomingTextTests {
    @Test func classifiesBodies() throws {
        let plain = IRCIncomingText(try IRCMessage(parsing: ":bob!u@h PRIVMSG #c :\u{02}aria\u{02}: \u{03}4hello"))
        #expect(plain?.kind == .message && plain?.text == "aria: hello" && plain?.sender == "bob" && plain?.target == "#c")
        let action = IRCIncomingText(try IRCMessage(parsing: ":bob!u@h PRIVMSG #c :\u{01}ACTION \u{1D}waves\u{01}"))
        #expect(action?.kind == .action && action?.text == "waves")
        let version = IRCIncomingText(try IRCMessage(parsing: ":bob!u@h PRIVMSG aria :\u{01}VERSION\u{01}"))
        #expect(version?.kind == .ctcp(IRCCTCP(command: "VERSION")))
        let notice = IRCIncomingText(try IRCMessage(parsing: ":srv NOTICE * :*** Looking up your hostname"))
        #expect(notice?.kind == .notice)
        #expect(IRCIncomingText(try IRCMessage(parsing: ":bob!u@h JOIN #c")) == nil)
    }
}

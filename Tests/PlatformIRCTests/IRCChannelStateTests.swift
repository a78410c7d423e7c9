import Testing
@testable import PlatformIRC

@Suite struct IRCChannelStateTests {
    func apply(_ s: inout IRCChannelState, _ lines: [String]) throws {
        for line in lines { s.handle(try IRCMessage(parsing: line)) }
    }

    @Test func namesWithMultiPrefixAndModeChanges() throws {
        var isupport = IRCISupport()
        isupport.apply(try IRCMessage(parsing: ":srv 005 aria PREFIX=(qaohv)~&@%+ CHANMODES=beI,k,l,imnt :are supported"))
        var s = IRCChannelState(ourNick: "aria", isupport: isupport)
        try apply(&s, [
            ":aria!u@h JOIN #Chan",
            ":srv 353 aria = #chan :aria @%Op_One +voiced ~owner %half plain!u@h",
            ":srv 366 aria #CHAN :End of /NAMES list.",
        ])
        #expect(s.members(of: "#chan") == ["Op_One", "aria", "half", "owner", "plain", "voiced"])
        #expect(s.isOperator("op_one", in: "#CHAN"))
        #expect(s.isOperator("owner", in: "#chan"))
        #expect(!s.isOperator("half", in: "#chan"))
        #expect(s.isOperator("half", in: "#chan", includeHalfOps: true))
        #expect(!s.isOperator("voiced", in: "#chan"))
        try apply(&s, [":Op_One!u@h MODE #chan +ok-v plain secretkey voiced"])
        #expect(s.isOperator("plain", in: "#chan"))
        #expect(s.modes(of: "voiced", in: "#chan").isEmpty)
        try apply(&s, [":x!u@h MODE #chan -o+b plain *!*@bad"])
        #expect(!s.isOperator("plain", in: "#chan"))
        // rfc1459 casemapping: [ ] \ ~ fold to { } | ^
        try apply(&s, [":a[b]!u@h JOIN #chan", ":srv MODE #chan +o A{B}"])
        #expect(s.isOperator("a[b]", in: "#chan"))
    }

    @Test func joinPartKickQuitNick() throws {
        var s = IRCChannelState(ourNick: "aria")
        try apply(&s, [
            ":aria!u@h JOIN #a", ":aria!u@h JOIN #b",
            ":bob!u@h JOIN #a", ":bob!u@h JOIN #b", ":carol!u@h JOIN #a",
            ":srv MODE #a +o bob",
        ])
        #expect(s.joinedChannels == ["#a", "#b"])
        try apply(&s, [":bob!u@h NICK robert"])
        #expect(s.isOperator("robert", in: "#a"))
        #expect(!s.isOperator("bob", in: "#a"))
        try apply(&s, [":carol!u@h PART #a :bye"])
        #expect(s.members(of: "#a") == ["aria", "robert"])
        try apply(&s, [":robert!u@h QUIT :gone"])
        #expect(s.members(of: "#b") == ["aria"])
        try apply(&s, [":op!u@h KICK #b aria :out"])
        #expect(s.joinedChannels == ["#a"])
        try apply(&s, [":aria!u@h NICK aria_"])
        #expect(s.ourNick == "aria_")
        #expect(s.members(of: "#a") == ["aria_"])
    }
}

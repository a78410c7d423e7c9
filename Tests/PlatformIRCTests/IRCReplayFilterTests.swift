@testable import PlatformIRC
import Testing

@Suite struct IRCReplayFilterTests {
    func line(_ text: String) throws -> IRCMessage { try IRCMessage(parsing: Array(text.utf8)) }

    @Test func parsesServerTime() {
        #expect(IRCServerTime(parsing: "1970-01-01T00:00:00.000Z")?.secondsSince1970 == 0)
        #expect(IRCServerTime(parsing: "2026-11-24T13:52:25.500Z")?.secondsSince1970 == 1_795_528_345.5)
        #expect(IRCServerTime(parsing: "2000-02-29T12:00:00Z")?.secondsSince1970 == 951_825_600)
        for bad in ["", "2026-11-24", "2026-13-01T00:00:00Z", "2026-11-24T13:52:25.5", "2026-11-24 13:52:25Z", "x026-11-24T13:52:25Z",
                    "2026-11-24T13:52:25.1234567890Z"] {
            #expect(IRCServerTime(parsing: bad) == nil, "\(bad)")
        }
    }

    @Test func chathistoryBatchIsReplay() throws {
        var filter = IRCReplayFilter()
        #expect(try filter.observe(line("@time=2026-11-24T13:52:27.994Z :s BATCH +1 chathistory :#a")).isReplay == false)
        let old = try filter.observe(line("@time=2026-11-24T13:52:25.000Z;batch=1 :alice!a@h PRIVMSG #a :aria: old"))
        #expect(old.isReplay)
        #expect(old.time?.secondsSince1970 == 1_795_528_345)
        _ = try filter.observe(line("@time=2026-11-24T13:52:27.994Z :s BATCH -1"))
        #expect(try filter.observe(line("@time=2026-11-24T13:52:28.000Z;batch=1 :alice!a@h PRIVMSG #a :new")).isReplay == false)
        // Other batch types (e.g. netsplit) are live.
        _ = try filter.observe(line(":s BATCH +2 netjoin"))
        #expect(try filter.observe(line("@batch=2 :alice!a@h PRIVMSG #a :live")).isReplay == false)
    }

    @Test func staleServerTimeIsReplayFreshIsNot() throws {
        var filter = IRCReplayFilter(maximumLag: 30)
        #expect(try filter.observe(line("@time=2026-11-24T13:00:00.000Z :alice!a@h PRIVMSG #a :first")).isReplay == false)
        #expect(try filter.observe(line("@time=2026-11-24T12:59:40.000Z :alice!a@h PRIVMSG #a :20 s late")).isReplay == false)
        #expect(try filter.observe(line("@time=2026-11-24T12:50:00.000Z :alice!a@h PRIVMSG #a :10 min late")).isReplay)
        #expect(filter.newestServerTime == IRCServerTime(parsing: "2026-11-24T13:00:00.000Z"))
        // No tag (server-time not negotiated): always live.
        #expect(try filter.observe(line(":alice!a@h PRIVMSG #a :untagged")).isReplay == false)
    }
}

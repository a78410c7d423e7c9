import Testing
@testable import PlatformIRC

@Suite struct IRCRegistrationTests {
    func sent(_ actions: [IRCRegistrationAction]) -> [String] {
        actions.compactMap { if case .send(let m) = $0 { m.serialized } else { nil } }
    }

    func feed(_ r: inout IRCRegistration, _ line: String) throws -> [String] {
        sent(r.handle(try IRCMessage(parsing: line)))
    }

    @Test func fullFlowWithMultilineLSAndSASL() throws {
        var r = IRCRegistration(config: .init(nick: "aria", serverPassword: "srv", saslAccount: "aria", saslPassword: "pw",
                                              channels: [.init(name: "#open"), .init(name: "#secret", key: "k1")]))
        #expect(sent(r.start()) == ["CAP LS 302", "PASS srv", "NICK aria", "USER aria 0 * PersonaBridge"])
        #expect(try feed(&r, "PING :early") == ["PONG early"])
        #expect(try feed(&r, ":srv CAP * LS * :multi-prefix server-time away-notify") == [])
        #expect(try feed(&r, ":srv CAP * LS :sasl=PLAIN,EXTERNAL echo-message message-tags") ==
            ["CAP REQ :message-tags server-time echo-message multi-prefix sasl"])
        #expect(try feed(&r, ":srv CAP aria ACK :message-tags server-time echo-message multi-prefix sasl") == ["AUTHENTICATE PLAIN"])
        #expect(r.enabledCapabilities.contains("echo-message"))
        #expect(try feed(&r, "AUTHENTICATE +") == ["AUTHENTICATE YXJpYQBhcmlhAHB3"])
        #expect(try feed(&r, ":srv 903 aria :SASL authentication successful") == ["CAP END"])
        let welcome = r.handle(try IRCMessage(parsing: ":srv 001 aria :Welcome"))
        #expect(welcome == [.registered(nick: "aria")])
        #expect(try feed(&r, ":srv 005 aria PREFIX=(qaohv)~&@%+ CHANMODES=b,k,l,imnt NICKLEN=30 BOT=B CASEMAPPING=ascii :are supported") == ["MODE aria +B"])
        #expect(r.isupport.prefixSymbols == ["~", "&", "@", "%", "+"])
        #expect(r.isupport.nickLength == 30)
        #expect(r.isupport.caseMapping == "ascii")
        #expect(try feed(&r, ":srv 376 aria :End of MOTD") == ["JOIN #secret,#open k1"])
        #expect(try feed(&r, ":srv 422 aria :No MOTD") == [])
    }

    @Test func saslChunksAndLonePlus() {
        // 300 raw bytes encode to exactly 400 base64 characters.
        let password = String(repeating: "p", count: 300 - 4)
        var r = IRCRegistration(config: .init(nick: "a", saslAccount: "a", saslPassword: password))
        _ = r.start()
        let lines = sent(r.handle(IRCMessage(command: "AUTHENTICATE", params: ["+"])))
        #expect(lines.count == 2)
        #expect(lines[0].utf8.count == "AUTHENTICATE ".utf8.count + 400)
        #expect(lines[1] == "AUTHENTICATE +")
        var r2 = IRCRegistration(config: .init(nick: "a", saslAccount: "a", saslPassword: password + "xyz"))
        _ = r2.start()
        let lines2 = sent(r2.handle(IRCMessage(command: "AUTHENTICATE", params: ["+"])))
        #expect(lines2.count == 2 && lines2[1] != "AUTHENTICATE +")
    }

    @Test func saslFailureContinuesOrFails() throws {
        var soft = IRCRegistration(config: .init(nick: "aria", saslAccount: "aria", saslPassword: "bad", nickServPassword: "ns"))
        _ = soft.start()
        #expect(try feed(&soft, ":srv 904 aria :SASL authentication failed") == ["CAP END"])
        #expect(try feed(&soft, ":srv 001 aria_ :hi") == ["PRIVMSG NickServ :IDENTIFY aria ns"])
        var plain = IRCRegistration(config: .init(nick: "aria", nickServPassword: "ns"))
        _ = plain.start()
        #expect(try feed(&plain, ":srv 001 aria :hi") == ["PRIVMSG NickServ :IDENTIFY ns"])
        var hard = IRCRegistration(config: .init(nick: "aria", saslAccount: "aria", saslPassword: "bad", requireSASL: true))
        _ = hard.start()
        let actions = hard.handle(try IRCMessage(parsing: ":srv 904 aria :failed"))
        guard case .failed(let error)? = actions.first else { Issue.record("expected failure"); return }
        #expect(error.code == .saslFailed)
        #expect(hard.phase == .failed)
    }

    @Test func refusalsThatReconnectingCannotFixStopForGood() throws {
        func failure(_ lines: [String], nick: String = "aria") throws -> IRCRegistrationError? {
            var r = IRCRegistration(config: .init(nick: nick))
            _ = r.start()
            for line in lines {
                for action in r.handle(try IRCMessage(parsing: line)) {
                    if case .failed(let error) = action { return error }
                }
            }
            return nil
        }
        let banned = try #require(try failure([":srv 465 aria :You are banned from this server"]))
        #expect(banned.code == .banned && banned.stopsForGood)
        let kline = try #require(try failure(["ERROR :Closing link: aria[127.0.0.1] (K-Lined: spam)"]))
        #expect(kline.code == .banned && kline.stopsForGood)
        let throttled = try #require(try failure(["ERROR :Closing link: (Throttled: reconnecting too fast)"]))
        #expect(throttled.code == .serverError && !throttled.stopsForGood, "a throttle is worth a retry")
        let invalid = try #require(try failure([":srv 432 * 9aria :Erroneous nickname"], nick: "9aria"))
        #expect(invalid.code == .erroneousNick && invalid.stopsForGood)
        #expect(invalid.message.contains("9aria"))
        // A taken nick is not a refusal: the next candidate is tried.
        #expect(try failure([":srv 433 * aria :Nickname is already in use"]) == nil)
    }

    @Test func noCapServerAndNickCollision() throws {
        var r = IRCRegistration(config: .init(nick: "aria", channels: [.init(name: "#c")]))
        _ = r.start()
        #expect(try feed(&r, ":srv CAP * LS :multi-prefix") == ["CAP REQ multi-prefix"])
        #expect(try feed(&r, ":srv CAP * NAK :multi-prefix") == ["CAP END"])
        #expect(try feed(&r, ":srv 433 * aria :Nickname is already in use") == ["NICK aria_"])
        #expect(try feed(&r, ":srv 433 * aria_ :Nickname is already in use") == ["NICK aria__"])
        #expect(try feed(&r, ":srv 001 aria__ :Welcome") == [])
        #expect(r.nick == "aria__")
        #expect(try feed(&r, ":srv 433 aria__ aria :in use") == [])
        #expect(sent(r.regainNick()) == ["NICK aria"])
        #expect(try feed(&r, ":aria__!u@h NICK :aria") == [])
        #expect(r.nick == "aria")
        #expect(r.regainNick().isEmpty)
        #expect(try feed(&r, "PING :late") == ["PONG late"])
    }

    @Test func caseMappingFolds() {
        let rfc = IRCCaseMapping("rfc1459")
        #expect(rfc.equal("Nick[A]\\~", "nick{a}|^"))
        #expect(!IRCCaseMapping("ascii").equal("a[", "a{"))
        #expect(!IRCCaseMapping("strict-rfc1459").equal("a~", "a^"))
    }
}

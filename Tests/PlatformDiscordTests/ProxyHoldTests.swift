import Testing
@testable import PlatformDiscord

/// The proxy hold without I/O: payloads are plain labels, time is handed in.
@Suite struct ProxyHoldTests {
    typealias Hold = ProxyHold<String>

    static let channel = "c1"

    func seen(_ id: String, _ text: String, channel: String = ProxyHoldTests.channel) -> Hold.Seen {
        Hold.Seen(id: id, channelID: channel, text: text, payload: id)
    }

    /// The actions as short strings: `emit:<id>`, `proxied:<copy>/<original or sender>/<member>`, `lookup:<id>`, `delete:<id>`.
    func describe(_ actions: [Hold.Action]) -> [String] {
        actions.map {
            switch $0 {
            case .emit(let id): "emit:\(id)"
            case .emitProxied(let copy, let credit): "proxied:\(copy)/\(credit.original ?? "sender " + (credit.senderID ?? "?"))/\(credit.memberName)"
            case .lookUp(let id, _): "lookup:\(id)"
            case .forwardDelete(let id, _): "delete:\(id)"
            }
        }
    }

    func hold() -> Hold { Hold(wait: .milliseconds(1500), proxyChannels: [Self.channel]) }

    @Test func aProxiedMessageBecomesOneMessageCreditedToTheMemberWhicheverComesFirst() {
        // PluralKit posts the copy, then deletes the original.
        var h = hold()
        #expect(describe(h.human(seen("o1", "pk: hello there"), now: .zero)).isEmpty)
        #expect(describe(h.webhook(seen("w1", "hello there"), name: "Starlight", now: .milliseconds(300))).isEmpty)
        #expect(describe(h.deleted(messageID: "o1", channelID: Self.channel, now: .milliseconds(350))) == ["proxied:w1/o1/Starlight"])
        #expect(h.count == 0 && h.nextDeadline == nil)
        #expect(describe(h.expire(now: .seconds(5))).isEmpty, "the original is never emitted on its own")

        // Deleted first, copy second; bracket tags.
        var g = hold()
        _ = g.human(seen("o2", "[on my way]"), now: .zero)
        #expect(describe(g.deleted(messageID: "o2", channelID: Self.channel, now: .milliseconds(100))).isEmpty)
        #expect(describe(g.webhook(seen("w2", "on my way"), name: "Ember", now: .milliseconds(200))) == ["proxied:w2/o2/Ember"])
    }

    @Test func anUntouchedMessageIsEmittedWhenItsWaitEnds() {
        var h = hold()
        _ = h.human(seen("o1", "just me"), now: .zero)
        #expect(h.nextDeadline == .milliseconds(1500))
        #expect(describe(h.expire(now: .milliseconds(1499))).isEmpty)
        #expect(describe(h.expire(now: .milliseconds(1500))) == ["emit:o1"])
        #expect(h.nextDeadline == nil)
        // Its deletion later is passed on: it was emitted.
        #expect(describe(h.deleted(messageID: "o1", channelID: Self.channel, now: .seconds(2))) == ["delete:o1"])
    }

    @Test func anEditOfAHeldMessageChangesWhatGoesOn() {
        var h = hold()
        _ = h.human(seen("o1", "helo"), now: .zero)
        let held = h.edited(messageID: "o1", channelID: Self.channel, text: "hello", update: { $0 + "-edited" })
        let unknown = h.edited(messageID: "o9", channelID: Self.channel, text: "x", update: { $0 })
        #expect(held && !unknown, "an edit of a message not held goes on")
        #expect(describe(h.expire(now: .seconds(2))) == ["emit:o1-edited"])
        // A copy matches the edited text.
        _ = h.human(seen("o2", "pk: helo"), now: .seconds(3))
        _ = h.edited(messageID: "o2", channelID: Self.channel, text: "pk: hello", update: { $0 })
        #expect(describe(h.webhook(seen("w2", "hello"), name: "Ash", now: .seconds(3) + .milliseconds(100))).isEmpty)
        #expect(describe(h.deleted(messageID: "o2", channelID: Self.channel, now: .seconds(3) + .milliseconds(200))) == ["proxied:w2/o2/Ash"])
    }

    @Test func aDeletedMessageWithoutCopyIsNeverEmittedNorItsDeletionPassedOn() {
        var h = hold()
        _ = h.human(seen("o1", "oops"), now: .zero)
        #expect(describe(h.deleted(messageID: "o1", channelID: Self.channel, now: .milliseconds(10))).isEmpty)
        #expect(describe(h.expire(now: .seconds(2))).isEmpty)
        #expect(describe(h.deleted(messageID: "o1", channelID: Self.channel, now: .seconds(3))).isEmpty)
    }

    @Test func aLateCopyIsLookedUpAndMatchedToTheDeletedOriginalWhenPluralKitFails() {
        var h = hold()
        _ = h.human(seen("o1", "pk:slow proxy"), now: .zero)
        _ = h.deleted(messageID: "o1", channelID: Self.channel, now: .milliseconds(100))
        #expect(describe(h.expire(now: .seconds(2))).isEmpty)
        #expect(describe(h.webhook(seen("w1", "slow proxy"), name: "Ash", now: .milliseconds(2500))) == ["lookup:w1"])
        #expect(h.count == 1, "waiting for the look-up")
        #expect(describe(h.lookupFailed("w1", now: .milliseconds(2600))) == ["proxied:w1/o1/Ash"])
        #expect(h.count == 0)
    }

    @Test func pluralKitNamesTheOriginalAndTheSender() {
        // The original is known: its author is the real user; PluralKit's member name is credited.
        var h = hold()
        _ = h.human(seen("o1", "text PluralKit changed"), now: .zero)
        #expect(describe(h.webhook(seen("w1", "text pluralkit changed!"), name: "Wren [sys]", now: .milliseconds(200))) == ["lookup:w1"])
        #expect(describe(h.identified("w1", originalID: "o1", senderID: "u1", memberName: "Wren", now: .milliseconds(300)))
                    == ["proxied:w1/o1/Wren"])
        #expect(describe(h.deleted(messageID: "o1", channelID: Self.channel, now: .milliseconds(400))).isEmpty)
        // Nothing seen of the original (the bridge started after it): the sender id stands in for it.
        var g = Hold(wait: .milliseconds(1500), proxyChannels: ["c2"])
        #expect(describe(g.webhook(seen("w2", "hi", channel: "c2"), name: "Wren", now: .zero)) == ["lookup:w2"])
        #expect(describe(g.identified("w2", originalID: "o9", senderID: "u1", memberName: nil, now: .zero)) == ["proxied:w2/sender u1/Wren"])
        // Outside proxy channels a webhook that repeats no recent message passes on without a look-up.
        #expect(describe(g.webhook(seen("w3", "weather report", channel: "c3"), name: "Relay", now: .zero)) == ["emit:w3"])
    }

    @Test func aWebhookThatIsNoProxyPassesOnAsItIs() {
        var h = hold()
        _ = h.human(seen("o1", "hello"), now: .zero)
        #expect(describe(h.webhook(seen("w1", "weather: sunny"), name: "Relay", now: .milliseconds(100))) == ["lookup:w1"])
        #expect(describe(h.lookupFailed("w1", now: .milliseconds(200))) == ["emit:w1"])
        #expect(describe(h.expire(now: .seconds(2))) == ["emit:o1"])
    }

    @Test func aContentMatchWithoutDeletionIsNoProxy() {
        var h = hold()
        _ = h.human(seen("o1", "hello"), now: .zero)
        #expect(describe(h.webhook(seen("w1", "hello"), name: "Echo", now: .milliseconds(100))).isEmpty)
        #expect(describe(h.expire(now: .seconds(2))) == ["emit:o1", "emit:w1"])
    }

    @Test func aChannelIsLearnedFromItsFirstProxyWithoutASecondAnswer() {
        var h = Hold(wait: .milliseconds(1500))
        // Not known for proxies yet: passed on at once, remembered.
        #expect(describe(h.human(seen("o1", "pk: first"), now: .zero)) == ["emit:o1"])
        #expect(describe(h.webhook(seen("w1", "first"), name: "Nova", now: .milliseconds(300))) == ["lookup:w1"])
        // PluralKit down: content and time say it is the copy of a message already passed on; the copy is dropped
        // (the original may have been answered) and the original's deletion is kept from the router.
        #expect(describe(h.lookupFailed("w1", now: .milliseconds(400))).isEmpty)
        #expect(describe(h.deleted(messageID: "o1", channelID: Self.channel, now: .milliseconds(500))).isEmpty)
        #expect(h.proxyChannels.contains(Self.channel))
        // From now on messages there are held.
        #expect(describe(h.human(seen("o2", "pk: second"), now: .seconds(1))).isEmpty)
        #expect(h.nextDeadline == .milliseconds(2500))
        // A channel marked from outside (a thread of a proxy channel) holds from its first message.
        h.learn("thread")
        #expect(describe(h.human(seen("o3", "pk: in the thread", channel: "thread"), now: .seconds(1))).isEmpty)
    }

    @Test func theHoldIsBoundedPerChannel() {
        var h = Hold(wait: .milliseconds(1500), proxyChannels: [Self.channel], maxHeldPerChannel: 3)
        var emitted: [String] = []
        for i in 0..<5 { emitted += describe(h.human(seen("o\(i)", "m\(i)"), now: .milliseconds(i))) }
        #expect(emitted == ["emit:o0", "emit:o1"], "the oldest are released early")
        #expect(h.count == 3)
    }

    @Test func zeroWaitPassesEverythingThrough() {
        var h = Hold(wait: .zero, proxyChannels: [Self.channel])
        #expect(describe(h.human(seen("o1", "pk: x"), now: .zero)) == ["emit:o1"])
        #expect(describe(h.webhook(seen("w1", "x"), name: "N", now: .zero)) == ["emit:w1"])
        #expect(h.count == 0)
    }

    @Test func tagMatching() {
        #expect(Hold.matches(copy: "hello", original: "pk: hello"))
        #expect(Hold.matches(copy: "hello", original: "[hello]"))
        #expect(Hold.matches(copy: "hello", original: "hello -k"))
        #expect(Hold.matches(copy: " hello ", original: "hello"))
        #expect(!Hold.matches(copy: "hello", original: "goodbye"))
        #expect(!Hold.matches(copy: "", original: "pk:"))
        #expect(!Hold.matches(copy: "hello", original: "first line\npk: hello"))
        // Strict (no deletion seen): one-token tags, brackets when on both sides.
        #expect(Hold.matches(copy: "hi", original: "oh hi there"))
        #expect(!Hold.matches(copy: "hi", original: "oh hi there", strict: true))
        #expect(Hold.matches(copy: "hi", original: "{hi}", strict: true))
        #expect(Hold.matches(copy: "hi", original: "pk:hi", strict: true))
        #expect(!Hold.matches(copy: "hi", original: "oh well hi", strict: true))
    }

    @Test func aFloodWhereNoProxyIsKnownKeepsABoundedRecentList() {
        var h = Hold(wait: .milliseconds(1500), maxRecentPerChannel: 64)
        for i in 0..<1_000 {
            #expect(describe(h.human(seen("m\(i)", "line \(i)", channel: "busy"), now: .milliseconds(i))) == ["emit:m\(i)"])
        }
        #expect((64..<128).contains(h.recentCount), "trimmed in batches, never past twice the cap")
        // A copy of a recent line is still recognised; one of a line long trimmed is not a proxy's.
        #expect(describe(h.webhook(seen("w1", "line 990", channel: "busy"), name: "Ember", now: .seconds(1))) == ["lookup:w1"])
        #expect(describe(h.webhook(seen("w2", "line 3", channel: "busy"), name: "Ember", now: .seconds(1))) == ["emit:w2"])
        // Past the window the list empties on the channel's next message.
        _ = h.human(seen("late", "later", channel: "busy"), now: .seconds(60))
        #expect(h.recentCount == 1)
    }

    @Test func aLongFloodExpiresTrimmedRecordsAndKeepsTheLiveOnes() {
        // Far past the record cap (twice the total): most records leave by the busy channel's trim and expire without
        // a look-up, the rest must still leave their channel's list when they expire.
        var h = Hold(wait: .milliseconds(1500), maxRecentPerChannel: 8, maxRecentTotal: 64, recentWindow: .seconds(10))
        for i in 0..<5_000 {
            _ = h.human(seen("b\(i)", "busy \(i)", channel: "busy"), now: .microseconds(i))
            if i % 50 == 0 { _ = h.human(seen("q\(i)", "quiet \(i)", channel: "quiet"), now: .microseconds(i)) }
        }
        #expect(h.orderCount <= 2 * 64)
        #expect(h.recentCount <= 2 * 8 * 2)
        #expect(describe(h.webhook(seen("w1", "busy 4999", channel: "busy"), name: "Ember", now: .seconds(1))) == ["lookup:w1"])
        #expect(describe(h.webhook(seen("w2", "quiet 4950", channel: "quiet"), name: "Ember", now: .seconds(1))) == ["lookup:w2"])
        #expect(describe(h.webhook(seen("w3", "quiet 0", channel: "quiet"), name: "Ember", now: .seconds(1))) == ["emit:w3"])
        // Past the window every record expires, and with it every message still listed.
        _ = h.human(seen("late", "later", channel: "other"), now: .seconds(60))
        #expect(h.recentCount == 1 && h.recentChannels == 1)
    }

    @Test func quietChannelsAreForgottenAsTheirMessagesAge() {
        var h = Hold(wait: .milliseconds(1500), recentWindow: .seconds(10))
        for i in 0..<2_000 { _ = h.human(seen("m\(i)", "hi", channel: "c\(i)"), now: .milliseconds(i)) }
        #expect(h.recentChannels == 2_000, "all still young: nothing is forgotten")
        _ = h.human(seen("x", "hi", channel: "c0"), now: .seconds(20))
        #expect(h.recentChannels == 1 && h.recentCount == 1)
    }

    @Test func manyBusyChannelsStayUnderTheTotalCap() {
        // 10,000 channels taking turns within the window: the newest 4,096 messages are kept, wherever they were said.
        var h = Hold(wait: .milliseconds(1500), maxRecentTotal: 4_096, recentWindow: .seconds(10))
        for round in 0..<3 {
            for c in 0..<10_000 {
                _ = h.human(seen("m\(round)-\(c)", "line \(c)", channel: "c\(c)"), now: .microseconds(round * 10_000 + c))
            }
        }
        #expect(h.recentCount == 4_096 && h.recentChannels == 4_096)
        #expect(h.orderCount <= 2 * 4_096)
        #expect(describe(h.webhook(seen("w1", "line 9999", channel: "c9999"), name: "Ember", now: .seconds(1))) == ["lookup:w1"])
        #expect(describe(h.webhook(seen("w2", "line 10", channel: "c10"), name: "Ember", now: .seconds(1))) == ["emit:w2"])
    }
}

import BridgeCore
@testable import PlatformMatrix
import Testing

@Suite struct MatrixBatchLedgerTests {
    static let room = ChannelRef(platform: "matrix", channelID: "!r:example.org")

    static func message(_ id: String) -> PlatformEvent {
        .messageCreated(IncomingMessage(channel: room, author: ChatUser(id: "@a:example.org", displayName: "a"),
                                        messageID: id, text: "hi \(id)"))
    }

    @Test func anEmptyBatchIsCommittableAtOnce() {
        var ledger = MatrixBatchLedger()
        ledger.received(token: "s1", events: [])
        #expect(ledger.takeCommit() == "s1")
        #expect(ledger.takeCommit() == nil, "a token is handed out once")
    }

    @Test func aBatchIsCommittedOnlyWhenEveryEventIsHandled() {
        var ledger = MatrixBatchLedger()
        ledger.received(token: "s1", events: [Self.message("a"), Self.message("b")])
        #expect(ledger.takeCommit() == nil)
        ledger.handled(Self.message("a"))
        #expect(ledger.takeCommit() == nil, "b is still unhandled")
        ledger.handled(Self.message("b"))
        #expect(ledger.takeCommit() == "s1")
        #expect(ledger.pendingBatches == 0)
    }

    @Test func aLaterBatchWaitsForEarlierOnes() {
        var ledger = MatrixBatchLedger()
        ledger.received(token: "s1", events: [Self.message("a")])
        ledger.received(token: "s2", events: [Self.message("b")])
        ledger.received(token: "s3", events: [])
        // Channels are handled concurrently: the later batch can finish first.
        ledger.handled(Self.message("b"))
        #expect(ledger.takeCommit() == nil, "s1 still holds an unhandled event, so nothing past it is stored")
        ledger.handled(Self.message("a"))
        #expect(ledger.takeCommit() == "s3", "every batch up to s3 is handled")
    }

    @Test func repeatedIdenticalEventsAreCounted() {
        var ledger = MatrixBatchLedger()
        ledger.received(token: "s1", events: [Self.message("a"), Self.message("a")])
        ledger.handled(Self.message("a"))
        #expect(ledger.takeCommit() == nil)
        ledger.handled(Self.message("a"))
        #expect(ledger.takeCommit() == "s1")
    }

    @Test func unknownAcknowledgementsAreIgnored() {
        var ledger = MatrixBatchLedger()
        ledger.handled(Self.message("stray"))
        ledger.received(token: "s1", events: [Self.message("a")])
        ledger.handled(Self.message("stray"))
        #expect(ledger.takeCommit() == nil)
        #expect(ledger.pendingBatches == 1)
    }
}

import Testing

@testable import BridgeCore

/// The controls wait for every reply of a channel to send its final text, not only for the model streams to end:
/// a final text waiting for a slot in the channel's rate-limit window must not lose it to a controls move.
@Suite struct ReplyControlsTests {
    @Test func aChannelIsDeliveringUntilItsLastReplyHasSentItsText() {
        let controls = ReplyControls()
        #expect(!controls.isDelivering(in: "discord:g:1"))
        controls.beginDelivery(in: "discord:g:1")
        controls.beginDelivery(in: "discord:g:1")
        controls.beginDelivery(in: "discord:g:2")
        controls.endDelivery(in: "discord:g:1")
        #expect(controls.isDelivering(in: "discord:g:1"), "one reply still sends its final text")
        controls.endDelivery(in: "discord:g:1")
        #expect(!controls.isDelivering(in: "discord:g:1"))
        #expect(controls.isDelivering(in: "discord:g:2"), "channels count apart")
        // An unmatched end never leaves a negative count that would hide the next reply.
        controls.endDelivery(in: "discord:g:1")
        controls.beginDelivery(in: "discord:g:1")
        #expect(controls.isDelivering(in: "discord:g:1"))
    }

    @Test func aModelStreamThatEndedIsNoLongerARequesterButItsDeliveryStillCounts() {
        let controls = ReplyControls()
        controls.beginDelivery(in: "c")
        let token = controls.started(in: "c", requester: "u1") { _ in }
        #expect(controls.requesters(in: "c") == ["u1"])
        controls.finished(token, in: "c")
        #expect(controls.requesters(in: "c").isEmpty)
        #expect(controls.isDelivering(in: "c"))
        controls.endDelivery(in: "c")
        #expect(!controls.isDelivering(in: "c"))
    }
}

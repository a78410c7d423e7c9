import BridgeCore
import Foundation
import HTTPTransport
import Logging
import PBTestSupport
@testable import PlatformMatrix
import Storage
import Testing

/// Streaming under Synapse's default `rc_message` (0.2/s, burst 10): its own Synapse, since the others relax it.
@Suite(.serialized) struct MatrixRateLimitTests {
    @Test func longStreamedReplyUnderDefaultLimitsEndsComplete() async throws {
        let synapse = try await Synapse.start(defaultRateLimits: true)
        defer { synapse.stop() }
        let http = HTTPClient()
        defer { http.shutdown() }
        let model = try await FakeModel.start(http: http)
        defer { model.stop() }
        let users = try await synapse.register(["bot", "alice"])
        let alice = Human(users["alice"]!, synapse: synapse, http: http)
        let botID = users["bot"]!.userID
        // Far faster than the server allows, so 429s are certain and the adapter must adapt.
        let bot = try await Bot.start(synapse: synapse, account: users["bot"]!, store: try SQLiteStore.inMemory(),
                                      model: model.client(), http: http, allow: [alice.id],
                                      budget: EditBudget(burst: 10, interval: .milliseconds(200)))
        let room = try await alice.createRoom(name: "Busy", invite: [botID])
        try await eventually("bot joined") { try await alice.joinedMembers(room).contains(botID) }

        let tokens = (0..<150).map { String(format: "w%03d-text ", $0) }
        let full = tokens.joined()
        #expect(full.count == 1500)
        try await model.script([["tokens": .array(tokens.map { .string($0) }), "token_interval": 0.02]])
        try await alice.say("Aria, talk a lot", in: room)

        let original = try await eventuallyValue("the reply") {
            try await alice.messages(in: room).first { $0.sender == botID && $0.replaces == nil }
        }
        try await eventually("the complete text as the latest edit", timeout: .seconds(240)) {
            shownContent(try await alice.event(original.eventID!, in: room))?["body"]?.string == full
        }

        let attempts = bot.platform.sendAttempts
        let limited = attempts.filter { $0.rateLimitedFor != nil }
        #expect(!limited.isEmpty, "Synapse's default rc_message should have answered 429 at least once")
        for hit in limited {
            let wait = hit.rateLimitedFor!
            for later in attempts where later.startedAt > hit.at {
                #expect(later.startedAt >= hit.at + wait - .milliseconds(5),
                        "an attempt at \(later.startedAt) ignored the 429 at \(hit.at) asking for \(wait)")
            }
        }
        for txn in Set(attempts.map(\.txnID)) {
            #expect(attempts.contains { $0.txnID == txn && $0.succeeded }, "txn \(txn) never succeeded")
        }
        let edits = try await alice.messages(in: room).filter { $0.sender == botID && $0.replaces == original.eventID }
        #expect(edits.count <= 30)
        #expect(edits.last?.content["m.new_content"]?["body"]?.string == full)
        await bot.stop()
    }
}

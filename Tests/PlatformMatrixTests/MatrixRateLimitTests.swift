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
        // Far faster than the server allows, so 429s are certain and the adapter must adapt.
        // (burst 20 at 20/s against Synapse's burst 10 at 0.2/s, even when a loaded machine clumps the tokens)
        let scene = try await Scenario.start(synapse: synapse, budget: EditBudget(burst: 20, interval: .milliseconds(50)))
        let tokens = (0..<150).map { String(format: "w%03d-text ", $0) }
        let full = tokens.joined()
        #expect(full.count == 1500)
        // 15 s of streaming: even when a loaded Synapse answers one PUT a second, the bot wants more than
        // burst 10 plus 0.2/s allows, so 429s are certain.
        try await scene.script(tokens: tokens, interval: 0.1)
        try await scene.alice.say("Aria, talk a lot", in: scene.room)
        let original = try await scene.firstReply()
        try await scene.waitUntilShown(original, full, timeout: .seconds(240))

        // An edit still waiting out a 429 when the text is shown must still end: it succeeds, or is dropped because
        // a newer edit overtook it (none fails for good).
        func ended(_ log: [MatrixPlatform.SendAttempt], _ txn: String) -> Bool {
            log.contains { $0.txnID == txn && ($0.succeeded || $0.superseded) }
        }
        try await eventually("every edit ended", timeout: .seconds(90)) {
            let log = scene.bot.platform.sendAttempts
            return Set(log.map(\.txnID)).allSatisfy { ended(log, $0) }
        }
        let attempts = scene.bot.platform.sendAttempts
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
            #expect(ended(attempts, txn), "txn \(txn) neither succeeded nor was superseded")
        }
        // The Core scheduler's budget for the room was paused and slowed by the 429s.
        let budget = scene.bot.platform.editBudgets.budget(for: ChannelRef(platform: "matrix", channelID: scene.room))
        #expect(budget.pauseGeneration >= 1)
        #expect(budget.interval > .milliseconds(50))
        let edits = try await scene.edits(of: original)
        #expect(edits.count <= 30)
        // In server order, every edit's text is a prefix of the next one's: no older edit landed after a newer one.
        let bodies = edits.compactMap { $0.content["m.new_content"]?["body"]?.string }
        #expect(bodies.count == edits.count)
        for (older, newer) in zip(bodies, bodies.dropFirst()) {
            #expect(newer.hasPrefix(older), "an edit with \(older.count) characters landed after one with \(newer.count)")
        }
        #expect(edits.last?.content["m.new_content"]?["body"]?.string == full)
        await scene.finish()
    }
}

import BridgeCore
@testable import PlatformMatrix
import Testing

@Suite struct MatrixPolicyTests {
    @Test func editCapHoldsBackAndFlushesTheNewestText() {
        var cap = MatrixEditCap(cap: 3)
        #expect(cap.request("a") == .send(number: 1))
        #expect(cap.request("ab") == .send(number: 2))
        #expect(cap.request("abc") == .hold(generation: 1))
        #expect(cap.request("abcd") == .hold(generation: 2))
        #expect(cap.flush(generation: 1) == nil)
        let due = cap.flush(generation: 2)
        #expect(due?.text == "abcd")
        #expect(due?.number == 3)
        #expect(cap.flush(generation: 2) == nil)
    }

    @Test func editCapOfThirtyNeverExceedsThirtyForAStream() {
        var cap = MatrixEditCap(cap: 30)
        var sent = 0
        var lastGeneration = 0
        for i in 1...500 {
            switch cap.request(String(repeating: "x", count: i)) {
            case .send: sent += 1
            case .hold(let g): lastGeneration = g
            }
        }
        let final = cap.flush(generation: lastGeneration)
        #expect(final?.text.count == 500)
        #expect(sent + 1 == 30)
        #expect(final?.number == 30)
    }

    @Test func rateLimiterHonoursRetryAfterThenSlowsDown() {
        #expect(MatrixRateLimiter.retryAfter(header: "3", milliseconds: 100) == .seconds(3))
        #expect(MatrixRateLimiter.retryAfter(header: nil, milliseconds: 4500) == .milliseconds(4500))
        #expect(MatrixRateLimiter.retryAfter(header: "soon", milliseconds: nil) == nil)
        var limiter = MatrixRateLimiter(initial: EditBudget(burst: 3, interval: .seconds(1)))
        let first = limiter.limited(wait: .seconds(5))
        #expect(first.pause == .seconds(5))
        #expect(first.burst == 1)
        #expect(first.interval >= .seconds(2))
        #expect(first.pauseGeneration == 1)
        let second = limiter.limited(wait: .seconds(1))
        #expect(second.interval >= first.interval)
        #expect(second.pauseGeneration == 2)
        var relaxed: EditBudget?
        for _ in 0..<200 { if let b = limiter.succeeded() { relaxed = b } }
        #expect(relaxed?.interval == .seconds(1))
        #expect(relaxed?.burst == 3)
        #expect(relaxed?.pause == nil)
    }

    @Test func limitedBudgetPausesTheCoreScheduler() {
        var limiter = MatrixRateLimiter(initial: EditBudget(burst: 3, interval: .seconds(1)))
        var scheduler = EditScheduler(budget: limiter.initial, now: .zero)
        scheduler.open(EditStreamID(1), sentText: "")
        _ = scheduler.submit(EditStreamID(1), text: "a", now: .zero)
        _ = scheduler.editCompleted(EditStreamID(1), succeeded: true, now: .zero)
        let budget = limiter.limited(wait: .seconds(5))
        _ = scheduler.updateBudget(budget, now: .seconds(1))
        let during = scheduler.submit(EditStreamID(1), text: "ab", now: .seconds(2))
        #expect(!during.contains { if case .edit = $0 { true } else { false } })
        let after = scheduler.tick(now: .seconds(6))
        #expect(after.contains { if case .edit = $0 { true } else { false } })
    }

    @Test func backoffGrowsAndResets() {
        var backoff = MatrixBackoff(initial: .seconds(1), maximum: .seconds(8))
        #expect([backoff.next(), backoff.next(), backoff.next(), backoff.next(), backoff.next()]
                    == [.seconds(1), .seconds(2), .seconds(4), .seconds(8), .seconds(8)])
        backoff.reset()
        #expect(backoff.next() == .seconds(1))
    }

    @Test func powerLevelsThresholdCreatorsAndAdmins() {
        let levels: MatrixJSON = ["users": ["@mod:x": 50, "@low:x": 49, "@weird:x": "100"], "users_default": 0]
        let create12 = MatrixEvent(type: "m.room.create", sender: "@creator:x", stateKey: "",
                                   content: ["room_version": "12", "additional_creators": ["@co:x", 7]])
        let p = MatrixPowerLevels(powerLevels: levels, create: create12)
        #expect(p.isModerator("@mod:x", threshold: 50))
        #expect(!p.isModerator("@low:x", threshold: 50))
        #expect(!p.isModerator("@weird:x", threshold: 50))
        #expect(!p.isModerator("@nobody:x", threshold: 50))
        #expect(p.isModerator("@creator:x", threshold: 50))
        #expect(p.isModerator("@co:x", threshold: 100))
        #expect(p.isModerator("@nobody:x", threshold: 50, admins: ["@nobody:x"]))
        #expect(p.isModerator("@low:x", threshold: 40))
        let create11 = MatrixEvent(type: "m.room.create", sender: "@creator:x", stateKey: "", content: ["room_version": "11"])
        #expect(!MatrixPowerLevels(powerLevels: levels, create: create11).isModerator("@creator:x", threshold: 50))
        #expect(MatrixPowerLevels(powerLevels: nil, create: create11).isModerator("@creator:x", threshold: 50))
        #expect(!MatrixPowerLevels(powerLevels: ["users": "bad", "users_default": [1]], create: nil).isModerator("@a:x", threshold: 50))
    }

    @Test func inviteAllowlist() {
        let config = MatrixPlatformConfiguration(homeserverURL: "http://x", userID: "@bot:x", inviteAllowlist: ["@alice:x", ":trusted.org"])
        #expect(config.allowsInvite(from: "@alice:x"))
        #expect(config.allowsInvite(from: "@anyone:trusted.org"))
        #expect(!config.allowsInvite(from: "@eve:x"))
        #expect(!config.allowsInvite(from: nil))
        let open = MatrixPlatformConfiguration(homeserverURL: "http://x", userID: "@bot:x", inviteAllowlist: ["*"])
        #expect(open.allowsInvite(from: "@eve:evil"))
    }
}

import Testing
@testable import PlatformDiscord

@Suite struct GatewaySendBudgetTests {
    @Test func neverExceeds120PerWindowAndKeepsHeartbeatHeadroom() {
        var budget = GatewaySendBudget()
        var sentTimes: [Duration] = []
        var now = Duration.zero
        while now < .seconds(300) {
            if budget.reserve(isHeartbeat: false, now: now) == nil { sentTimes.append(now) }
            now += .milliseconds(100)
        }
        for (i, t) in sentTimes.enumerated() {
            let inWindow = sentTimes[i...].prefix { $0 < t + .seconds(60) }.count
            #expect(inWindow <= 110)
        }
        var full = GatewaySendBudget()
        for _ in 0..<110 { #expect(full.reserve(isHeartbeat: false, now: .zero) == nil) }
        #expect(full.reserve(isHeartbeat: false, now: .seconds(1)) == .seconds(59))
        #expect(full.reserve(isHeartbeat: true, now: .seconds(1)) == nil)
    }

    @Test func identifyBucketsByShardModuloConcurrency() {
        var limiter = IdentifyLimiter(maxConcurrency: 2)
        #expect(limiter.reserve(shardId: 0, now: .zero) == nil)
        #expect(limiter.reserve(shardId: 1, now: .zero) == nil)
        #expect(limiter.reserve(shardId: 2, now: .seconds(1)) == .seconds(4))
        #expect(limiter.reserve(shardId: 2, now: .seconds(5)) == nil)
    }
}

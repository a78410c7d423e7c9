import BridgeCore
import HTTPTransport
import Testing
@testable import PlatformDiscord

@Suite struct RateLimitStateTests {
    let route = DiscordRoute.editMessage(channelID: "7")
    func headers(_ pairs: [(String, String)]) -> HTTPHeaders {
        var h = HTTPHeaders()
        for (n, v) in pairs { h.add(name: n, value: v) }
        return h
    }

    @Test func neverExceedsLearnedBucket() {
        var state = RateLimitState()
        #expect(state.reserve(route: route, now: .zero) == nil)
        state.update(route: route, status: 200, headers: headers([("X-RateLimit-Limit", "5"), ("X-RateLimit-Remaining", "4"), ("X-RateLimit-Reset-After", "5"), ("X-RateLimit-Bucket", "abc")]), now: .zero)
        for _ in 0..<4 { #expect(state.reserve(route: route, now: .milliseconds(10)) == nil) }
        #expect(state.reserve(route: route, now: .milliseconds(10)) == .milliseconds(4990))
        #expect(state.reserve(route: route, now: .seconds(5)) == nil)
        // Another channel is a different bucket.
        #expect(state.reserve(route: .editMessage(channelID: "8"), now: .milliseconds(10)) == nil)
        #expect(state.editBudget(channelID: "7") == EditBudget(burst: 5, interval: .seconds(1)))
    }

    /// A response near a window's end says "resets in 0.2 s"; the window after that still lasts the bucket's
    /// full length. Reusing the 0.2 s for a window opened before any response came back (a slow, loaded
    /// moment) let the limiter open a second window inside the server's one: a 429.
    @Test func aWindowOpenedBeforeItsFirstResponseLastsTheBucketsFullLength() {
        var state = RateLimitState()
        #expect(state.reserve(route: route, now: .zero) == nil)
        state.update(route: route, status: 200, headers: headers([("X-RateLimit-Limit", "5"), ("X-RateLimit-Remaining", "4"), ("X-RateLimit-Reset-After", "5"), ("X-RateLimit-Bucket", "abc")]), now: .zero)
        for _ in 0..<4 { #expect(state.reserve(route: route, now: .milliseconds(10)) == nil) }
        state.update(route: route, status: 200, headers: headers([("X-RateLimit-Limit", "5"), ("X-RateLimit-Remaining", "0"), ("X-RateLimit-Reset-After", "0.2"), ("X-RateLimit-Bucket", "abc")]), now: .milliseconds(4800))
        // The next window opens at 5 s; no response of it has come back by 5.3 s.
        for _ in 0..<5 { #expect(state.reserve(route: route, now: .seconds(5)) == nil) }
        #expect(state.reserve(route: route, now: .milliseconds(5300)) == .milliseconds(4700))
        #expect(state.window(for: route, now: .milliseconds(5300))?.remaining == 0)
    }

    @Test func honoursRetryAfterAndGlobalScope() {
        var state = RateLimitState()
        _ = state.reserve(route: route, now: .zero)
        state.update(route: route, status: 429, headers: headers([("X-RateLimit-Scope", "user")]), retryAfter: 2.5, now: .zero)
        #expect(state.reserve(route: route, now: .seconds(1)) == .milliseconds(1500))
        let other = DiscordRoute(method: "POST", template: "/channels/{channel_id}/typing", majorParameter: "9")
        #expect(state.reserve(route: other, now: .seconds(1)) == nil)
        state.update(route: other, status: 429, headers: headers([("X-RateLimit-Scope", "global"), ("X-RateLimit-Global", "true")]), retryAfter: 1, now: .seconds(1))
        #expect(state.reserve(route: .editMessage(channelID: "100"), now: .milliseconds(1500)) == .milliseconds(500))
    }

    @Test func globalLimitAndInvalidRequestGuard() {
        var state = RateLimitState(globalLimit: 50, invalidRequestCeiling: 10)
        for i in 0..<50 { #expect(state.reserve(route: .editMessage(channelID: "\(i)"), now: .zero) == nil) }
        #expect(state.reserve(route: .editMessage(channelID: "x"), now: .zero) == .seconds(1))
        for _ in 0..<10 { state.update(route: route, status: 403, headers: HTTPHeaders(), now: .seconds(2)) }
        #expect(state.reserve(route: .editMessage(channelID: "y"), now: .seconds(3)) == .seconds(599))
    }
}

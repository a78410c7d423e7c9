import BridgeCore
import Foundation
import HTTPTransport
import Testing
@testable import PlatformDiscord

/// Point 4 on Discord's side, and point 11: what a hostile server or model output can do to the adapter.
@Suite struct DiscordHostileInputTests {
    func headers(_ pairs: [(String, String)]) -> HTTPHeaders {
        var h = HTTPHeaders()
        for (n, v) in pairs { h.add(name: n, value: v) }
        return h
    }

    /// `X-RateLimit-Reset-After: inf`, `Retry-After: 1e20` and a `retry_after` of NaN used to trap `Int(Double)`.
    @Test func hostileRateLimitNumbersNeitherTrapNorPauseForever() {
        let route = DiscordRoute.editMessage(channelID: "7")
        for value in ["inf", "nan", "1e20", "-1e20", "infinity"] {
            var state = RateLimitState()
            state.update(route: route, status: 200, headers: headers([
                ("X-RateLimit-Limit", "5"), ("X-RateLimit-Remaining", "0"), ("X-RateLimit-Reset-After", value),
                ("X-RateLimit-Bucket", "b")]), now: .zero)
            let wait = state.reserve(route: route, now: .zero) ?? .zero
            #expect(wait <= .seconds(3_600), "\(value): \(wait)")
            state.update(route: route, status: 429, headers: headers([("Retry-After", value), ("X-RateLimit-Scope", "user")]),
                         now: .seconds(1))
            state.update(route: route, status: 429, headers: headers([("X-RateLimit-Scope", "global")]),
                         retryAfter: Double(value) ?? .nan, now: .seconds(2))
            let after = state.reserve(route: .createMessage(channelID: "8"), now: .seconds(2)) ?? .zero
            #expect(after <= .seconds(3_600), "\(value): \(after)")
        }
        #expect(RateLimitState.networkDuration(seconds: .infinity, fallback: .seconds(1)) == .seconds(1))
        #expect(RateLimitState.networkDuration(seconds: .nan, fallback: .seconds(1)) == .seconds(1))
        #expect(RateLimitState.networkDuration(seconds: 1e20, fallback: .seconds(1)) == .seconds(3_600))
        #expect(RateLimitState.networkDuration(seconds: -3, fallback: .seconds(1)) == .zero)
    }

    /// Every create, edit and webhook body defuses a masked link whose label is another address.
    @Test func maskedPhishingLinkIsDefusedInEveryMessageBody() throws {
        let text = "Your account: [https://discord.com/settings](https://evil.example/grab)"
        for body in [DiscordMessageBuilder.create(content: text), DiscordMessageBuilder.edit(content: text),
                     DiscordMessageBuilder.webhookExecute(content: text, username: "Aria", avatarURL: nil)] {
            let json = try #require(try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any])
            let content = try #require(json["content"] as? String)
            #expect(content == "Your account: https://discord.com/settings (https://evil.example/grab)", "\(content)")
        }
        let honest = "see [the guide](https://example.org/guide)"
        let json = try #require(try JSONSerialization.jsonObject(with: Data(DiscordMessageBuilder.create(content: honest))) as? [String: Any])
        #expect(json["content"] as? String == honest)
    }
}

import BridgeCore
import Foundation
import HTTPTransport
import Testing
@testable import PlatformDiscord

/// Pure helpers added with the adapter: bucket probing, command JSON, URLs, snowflakes, slash mapping.
@Suite struct DiscordPureHelpersTests {
    func headers(_ pairs: [(String, String)]) -> HTTPHeaders {
        var h = HTTPHeaders()
        for (n, v) in pairs { h.add(name: n, value: v) }
        return h
    }

    @Test func unlearnedRoutesProbeOneAtATime() {
        var state = RateLimitState()
        let create = DiscordRoute.createMessage(channelID: "7")
        #expect(state.reserve(route: create, now: .zero) == nil)
        #expect(state.reserve(route: create, now: .zero) != nil, "second request waits for the first response")
        state.update(route: create, status: 200, headers: headers([("X-RateLimit-Limit", "5"), ("X-RateLimit-Remaining", "0"),
                                                                  ("X-RateLimit-Reset-After", "5"), ("X-RateLimit-Bucket", "msg")]), now: .zero)
        #expect(state.reserve(route: create, now: .seconds(1)) == .seconds(4))
        // An unlearned route of the same channel may share the exhausted bucket: it waits too.
        #expect(state.reserve(route: .editMessage(channelID: "7"), now: .seconds(1)) == .seconds(4))
        #expect(state.reserve(route: .editMessage(channelID: "8"), now: .seconds(1)) == nil)
    }

    @Test func outOfOrderResponsesKeepTheLowerCount() {
        var state = RateLimitState()
        let route = DiscordRoute.editMessage(channelID: "7")
        let h = { (remaining: Int, after: String) in
            self.headers([("X-RateLimit-Limit", "5"), ("X-RateLimit-Remaining", "\(remaining)"), ("X-RateLimit-Reset-After", after),
                          ("X-RateLimit-Bucket", "b")])
        }
        _ = state.reserve(route: route, now: .zero)
        state.update(route: route, status: 200, headers: h(4, "5"), now: .zero)
        for _ in 0..<4 { #expect(state.reserve(route: route, now: .milliseconds(10)) == nil) }
        // A late response of an earlier request says 3 left; locally none are.
        state.update(route: route, status: 200, headers: h(3, "4.9"), now: .milliseconds(100))
        #expect(state.reserve(route: route, now: .milliseconds(200)) != nil)
        #expect(state.tooManyRequestsCount == 0)
    }

    @Test func commandsEncodeAsDiscordExpects() throws {
        let identify = GatewayCommandEncoder.encode(.identify(intents: .bridgeDefault, shard: [1, 4]), token: "t")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(identify.utf8)) as? [String: Any])
        #expect(object["op"] as? Int == 2)
        let d = try #require(object["d"] as? [String: Any])
        #expect(d["intents"] as? Int == 1 | 1 << 9 | 1 << 12 | 1 << 15)
        #expect(d["shard"] as? [Int] == [1, 4])
        for (seq, expected) in [(nil, "null"), (42, "42")] as [(Int?, String)] {
            let heartbeat = GatewayCommandEncoder.encode(.heartbeat(seq: seq), token: "t")
            #expect(heartbeat == #"{"op":1,"d":\#(expected)}"# || heartbeat == #"{"d":\#(expected),"op":1}"#)
        }
        let resume = GatewayCommandEncoder.encode(.resume(sessionId: "s", seq: 9), token: "t")
        #expect(resume.contains(#""session_id":"s""#) && resume.contains(#""seq":9"#) && resume.contains(#""op":6"#))
    }

    @Test func connectURLAddsTheRequiredQuery() {
        #expect(DiscordGateway.connectURL("wss://gateway.discord.gg", compress: true)
                == "wss://gateway.discord.gg/?v=10&encoding=json&compress=zlib-stream")
        #expect(DiscordGateway.connectURL("ws://127.0.0.1:9/resume?x=1", compress: false) == "ws://127.0.0.1:9/resume/?v=10&encoding=json")
    }

    @Test func snowflakesOrderAndCarryTime() {
        #expect(CatchUpMark.less("99", "100"))
        #expect(!CatchUpMark.less("200", "100"))
        // 175928847299117063 is Discord's documented example: 2016-04-30 11:18:25.796 UTC.
        let time = DiscordPlatform.snowflakeTime("175928847299117063")
        #expect(time.map { abs($0.timeIntervalSince1970 - 1_462_015_105.796) < 0.01 } == true)
    }

    @Test func slashCommandsMapToBridgeCommands() throws {
        func interaction(_ json: String) throws -> DiscordInteraction {
            try JSONDecoder().decode(DiscordInteraction.self, from: Data(json.utf8))
        }
        let set = try interaction(#"{"id":"1","token":"t","type":2,"data":{"name":"persona","options":[{"name":"set","type":1,"options":[{"name":"name","type":3,"value":"bolt"}]}]}}"#)
        #expect(try set.bridgeCommand.get() == .personaSet("bolt"))
        let talk = try interaction(#"{"id":"1","token":"t","type":2,"data":{"name":"talkativeness","options":[{"name":"value","type":10,"value":0.25}]}}"#)
        #expect(try talk.bridgeCommand.get() == .talkativeness(0.25))
        let bad = try interaction(#"{"id":"1","token":"t","type":2,"data":{"name":"talkativeness","options":[{"name":"value","type":10,"value":3}]}}"#)
        #expect((try? bad.bridgeCommand.get()) == nil)
        let unknown = try interaction(#"{"id":"1","token":"t","type":2,"data":{"name":"dance"}}"#)
        #expect((try? unknown.bridgeCommand.get()) == nil)
        for name in ["reset", "regenerate", "continue", "status", "budget"] {
            #expect((try? interaction(#"{"id":"1","token":"t","type":2,"data":{"name":"\#(name)"}}"#).bridgeCommand.get()) != nil)
        }
        let json = try #require(try JSONSerialization.jsonObject(with: Data(DiscordMessageBuilder.slashCommands)) as? [[String: Any]])
        #expect(json.compactMap { $0["name"] as? String } == ["persona", "reset", "regenerate", "continue", "talkativeness", "status", "budget", "why", "stop", "me", "next", "scene"])
    }

    @Test func slashMeMapsToPlayerCommandsWithSanitisedNames() throws {
        func interaction(_ json: String) throws -> DiscordInteraction {
            try JSONDecoder().decode(DiscordInteraction.self, from: Data(json.utf8))
        }
        func me(_ options: String) throws -> Result<BridgeCommand, SlashCommandError> {
            try interaction(#"{"id":"1","token":"t","type":2,"data":{"name":"me","options":\#(options)}}"#).bridgeCommand
        }
        let set = try me(#"[{"type":1,"name":"set","options":[{"type":3,"name":"name","value":"@everyone Kael\n"},{"type":3,"name":"description","value":"A ranger."},{"type":5,"name":"everywhere","value":true}]}]"#)
        #expect(try set.get() == .me(.set(name: "everyone Kael", description: "A ranger.", everywhere: true)))
        let local = try me(#"[{"type":1,"name":"set","options":[{"type":3,"name":"name","value":"Kael"},{"type":3,"name":"description","value":"A ranger."}]}]"#)
        #expect(try local.get() == .me(.set(name: "Kael", description: "A ranger.", everywhere: false)))
        #expect(try me(#"[{"type":1,"name":"show"}]"#).get() == .me(.show))
        #expect(try me(#"[{"type":1,"name":"clear"}]"#).get() == .me(.clear(everywhere: false)))
        let tooLong = try me(#"[{"type":1,"name":"set","options":[{"type":3,"name":"name","value":"Kael"},{"type":3,"name":"description","value":"\#(String(repeating: "x", count: 2_001))"}]}]"#)
        guard case .failure(let error) = tooLong else { Issue.record("a 2,001-character description was accepted"); return }
        #expect(error.message.contains("at most 2,000 characters"))
    }

    @Test func interactionBodiesNeverPing() throws {
        for body in [DiscordMessageBuilder.interactionReply(content: "@everyone", ephemeral: true),
                     DiscordMessageBuilder.interactionDefer(ephemeral: false)] {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any])
            let data = try #require(object["data"] as? [String: Any])
            #expect((data["allowed_mentions"] as? [String: Any])?["parse"] as? [String] == [])
        }
        #expect(DiscordPlatform.webhookUsername("Discord Clyde") == "D1scord Clyd3" || !DiscordPlatform.webhookUsername("Discord Clyde").lowercased().contains("discord"))
    }
}

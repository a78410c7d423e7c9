import BridgeCore
import Foundation
import HTTPTransport
import Logging
import PBTestSupport
import Testing
@testable import PlatformDiscord

/// The REST client against the fake: headers, typed errors, retries, 429 handling, buckets, the invalid-request guard.
@Suite(.serialized) struct DiscordRESTTests {
    static func client(_ fake: FakeDiscord, token: String = "fake-bot-token", limits: RateLimitState = RateLimitState()) -> DiscordREST {
        DiscordREST(token: token, http: fake.http, baseURL: fake.apiBase, rateLimits: limits, logger: Logger(label: "rest-test"))
    }

    @Test func sendsTheRequiredHeadersToTheConfiguredBase() async throws {
        let fake = try await FakeDiscord.start()
        defer { fake.stop() }
        let rest = Self.client(fake)
        _ = try await rest.request(.gatewayBot)
        let request = try await fake.get("requests")[0]
        #expect(request["headers"]["user-agent"].string == DiscordREST.defaultUserAgent)
        #expect(request["headers"]["authorization"].string == "Bot fake-bot-token")
        #expect(request["status"].int == 200)
    }

    @Test func typedErrorsFor401And403And404() async throws {
        let fake = try await FakeDiscord.start()
        defer { fake.stop() }
        await #expect(throws: DiscordRESTError.self) {
            do {
                _ = try await Self.client(fake, token: "nope").request(.gatewayBot)
            } catch let error as DiscordRESTError {
                #expect(error.code == .unauthorized)
                #expect(error.description.contains("token"))
                throw error
            }
        }
        let rest = Self.client(fake)
        do {
            _ = try await rest.request(.editMessage(channelID: World.general, messageID: "1"),
                                       body: DiscordMessageBuilder.edit(content: "x"))
            Issue.record("expected 404")
        } catch let error as DiscordRESTError {
            #expect(error.code == .notFound)
            #expect(error.status == 404)
        }
        try await fake.post("permissions", ["manage_webhooks": false])
        do {
            _ = try await rest.request(.createWebhook(channelID: World.general),
                                       body: DiscordMessageBuilder.createWebhook(name: "PersonaBridge"))
            Issue.record("expected 403")
        } catch let error as DiscordRESTError {
            #expect(error.code == .forbidden)
            #expect(error.discordCode == 50013)
        }
    }

    @Test func serverErrorsAreRetried() async throws {
        let fake = try await FakeDiscord.start()
        defer { fake.stop() }
        try await fake.post("rest/fail", ["count": 2, "status": 502, "path_contains": "/typing"])
        let rest = Self.client(fake)
        let response = try await rest.request(.typing(channelID: World.general))
        #expect(response.status == 204)
        let statuses = try await fake.get("requests").array.compactMap { $0["status"].int }
        #expect(statuses == [502, 502, 204])
    }

    @Test func tooManyRequestsHonourRetryAfterAndScope() async throws {
        let fake = try await FakeDiscord.start()
        defer { fake.stop() }
        let rest = Self.client(fake)
        try await fake.post("rest/fail", ["count": 1, "status": 429, "path_contains": "/typing", "retry_after": 0.4, "scope": "user"])
        let clock = ContinuousClock()
        let start = clock.now
        _ = try await rest.request(.typing(channelID: World.general))
        #expect(start.duration(to: clock.now) >= .milliseconds(400), "waited retry_after before retrying")
        #expect(rest.tooManyRequestsCount == 1)
        // A global 429 holds back every route.
        try await fake.post("rest/fail", ["count": 1, "status": 429, "path_contains": "/typing", "retry_after": 0.5, "global": true])
        _ = try await rest.request(.typing(channelID: World.general))
        let second = clock.now
        _ = try await rest.request(.typing(channelID: World.roleplay))
        let requests = try await fake.get("requests").array
        let globalAt = requests.last { $0["status"].int == 429 }?["monotonic"].double ?? 0
        let after = requests.last?["monotonic"].double ?? 0
        #expect(after - globalAt >= 0.45, "the other route waited out the global pause")
        _ = second
    }

    @Test func learnedBucketsPreventTooManyRequests() async throws {
        let fake = try await FakeDiscord.start(config: ["routes": ["messages": ["limit": 3, "per": 2]]])
        defer { fake.stop() }
        let rest = Self.client(fake)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<8 {
                group.addTask {
                    _ = try await rest.request(.createMessage(channelID: World.general),
                                               body: DiscordMessageBuilder.create(content: "burst \(i)"))
                }
            }
            try await group.waitForAll()
        }
        #expect(try await fake.counter("rate_limited") == 0)
        #expect(try await fake.get("requests").array.count == 8)
    }

    @Test func invalidRequestGuardStopsSnowballing() async throws {
        let fake = try await FakeDiscord.start()
        defer { fake.stop() }
        let rest = Self.client(fake, token: "nope", limits: RateLimitState(invalidRequestCeiling: 3))
        for _ in 0..<3 { _ = try? await rest.request(.gatewayBot) }
        do {
            _ = try await rest.request(.gatewayBot)
            Issue.record("expected the guard")
        } catch let error as DiscordRESTError {
            #expect(error.code == .invalidRequestGuard)
        }
        #expect(try await fake.get("requests").array.count == 3, "the guarded request never reached Discord")
    }
}

/// Gateway connection details against the fake.
@Suite(.serialized) struct DiscordGatewayTests {
    @Test func identifiesWithIntentsAndShardOverZlibStream() async throws {
        let fake = try await FakeDiscord.start(config: ["shards": 2])
        defer { fake.stop() }
        let bridge = try await DiscordBridge(fake: fake, model: TimedModel { _ in "ok" }) {
            $0.gateway.shardID = 0
            $0.gateway.shardCount = 2
            $0.gateway.intents = [.guilds, .guildMessages, .messageContent]
        }
        try await bridge.waitReady()
        let requests = try await fake.get("requests").array
        #expect(requests.first?["route"].string == "/gateway/bot")
        let connection = try await fake.get("gateway")["connections"][0]
        #expect(connection["compress"].value.map { "\($0)" } == "zlib-stream" || connection["compress"].bool == true)
        let query = "\(connection["query"].value ?? "")"
        #expect(query.contains("v") && query.contains("10") && query.contains("json"))
        let identify = try await fake.get("frames?dir=in").array.first { $0["op"].int == 2 }
        #expect(identify?["d"]["intents"].int == (1 << 0 | 1 << 9 | 1 << 15))
        #expect(identify?["d"]["shard"].array.compactMap(\.int) == [0, 2])
        #expect(identify?["d"]["token"].string == "fake-bot-token")
        #expect(identify?["d"]["properties"]["os"].string != nil)
        await bridge.stop()
    }

    @Test func invalidShardIsFatal() async throws {
        let fake = try await FakeDiscord.start()
        defer { fake.stop() }
        let bridge = try await DiscordBridge(fake: fake, model: TimedModel { _ in "ok" }) {
            $0.gateway.shardID = 3
            $0.gateway.shardCount = 2
        }
        let error = await bridge.task.value
        #expect((error as? GatewayFatalError)?.code == 4010)
        // The recorded event: the adapter's run ended (nothing of it can reconnect now); one short settle.
        try await settle()
        #expect(try await fake.counter("connections") == 1)
    }

    @Test func plainFramesWithoutCompression() async throws {
        let fake = try await FakeDiscord.start()
        defer { fake.stop() }
        let bridge = try await DiscordBridge(fake: fake, model: TimedModel { _ in "Plain and simple." }) { $0.gateway.compress = false }
        try await bridge.waitReady()
        try await fake.inject("plain?")
        try await eventually("reply") { try await fake.botMessages(in: World.general).first?["content"].string == "Plain and simple." }
        await bridge.stop()
    }
}

extension DiscordGatewayTests {
    @Test func twoShardsInOneProcessRespectIdentifyConcurrency() async throws {
        let fake = try await FakeDiscord.start(config: ["shards": 2, "max_concurrency": 1, "identify_interval_s": 1.0])
        defer { fake.stop() }
        let bridge = try await DiscordBridge(fake: fake, model: TimedModel { _ in "Sharded hello." }) {
            $0.gateway.shardCount = 2
            $0.gateway.identifySpacing = .milliseconds(1100)
            $0.shardIDs = [0, 1]
        }
        try await eventually("both shards ready") {
            bridge.platform.gateways.allSatisfy { $0.stats.readies == 1 && $0.stats.phase == .ready }
        }
        let shards = try await fake.get("frames?dir=in").array.filter { $0["op"].int == 2 }.map { $0["d"]["shard"].array.compactMap(\.int) }
        #expect(Set(shards) == [[0, 2], [1, 2]])
        #expect(try await fake.counter("identify_rate_limited") == 0, "identifies spaced per max_concurrency bucket")
        try await fake.inject("hello shards")
        try await eventually("reply") { try await fake.botMessages(in: World.general).first?["content"].string == "Sharded hello." }
        try await bridge.waitIdle()
        #expect(try await fake.botMessages(in: World.general).count == 1)
        await bridge.stop()
    }
}

import BridgeCore
import Foundation
import HTTPTransport
import Logging
import Observability
import PBTestSupport
import Storage
import Testing
@testable import PlatformDiscord

/// Tokens in logs, stale permissions and edits by others, against the fake Discord.
@Suite(.serialized) struct DiscordSecurityTests {
    final class JSONLog: @unchecked Sendable {
        // Safe: the file is only read after the writes finish (the bridge is stopped first).
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("pb-json-log-\(UUID().uuidString)").path
        init() { _ = FileManager.default.createFile(atPath: path, contents: nil) }
        var text: String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }
        func logger(_ label: String) -> Logger {
            let sink = LogSink(FileHandle(forWritingAtPath: path)!)
            var logger = Logger(label: label) { BridgeLogHandler(label: $0, format: .json, level: .trace, sink: sink) }
            logger.logLevel = .trace
            return logger
        }
    }

    /// Point 3: trace-level JSON logs of webhook replies, an interaction and failed requests hold no token.
    @Test func webhookAndInteractionTokensNeverReachTraceLevelJSONLogs() async throws {
        let fake = try await FakeDiscord.start()
        defer { fake.stop() }
        let log = JSONLog()
        let bindings = [RouterConfiguration.Binding(platform: "discord", channelID: World.roleplay, personas: ["bolt"])]
        let bridge = try await DiscordBridge(fake: fake, model: TimedModel(pieces: 4, interval: .milliseconds(100)) { _ in "Hmph. Fine." },
                                             bindings: bindings, logger: log.logger("discord-json"))
        try await bridge.waitReady()
        // One webhook execution fails with a 500 first (retried, logged), then the reply streams through the webhook.
        try await fake.post("rest/fail", ["count": 1, "status": 500, "path_contains": "/webhooks/"])
        try await fake.inject("smith, hello", channel: World.roleplay)
        try await eventually("webhook reply") {
            try await fake.botMessages(in: World.roleplay).contains { $0["content"].string == "Hmph. Fine." }
        }
        let interaction = try await fake.post("inject/interaction", ["name": "status", "user_id": World.alice])
        try await eventually("interaction answered") {
            try await fake.get("interactions").array.contains { $0["id"].string == interaction["id"].string && !$0["_callback"].isNull }
        }
        // A transport failure on purpose: nothing listens there, so the error carries the request's URL.
        let refusing = try RefusingPort()
        defer { withExtendedLifetime(refusing) {} }
        let deadPort = refusing.port
        let http = HTTPClient()
        defer { http.shutdown() }
        let rest = DiscordREST(token: "fake-bot-token-0123456789", http: http, baseURL: "http://127.0.0.1:\(deadPort)/api/v10",
                               maxAttempts: 2, logger: log.logger("discord-dead"))
        let deadToken = "dEaDwEbHoOkToKeN_0123456789abcdefXYZ"
        let interactionToken = "aW50ZXJhY3Rpb246OTk5OmRlYWRiZWVmLXNlY3JldA"
        await #expect(throws: DiscordRESTError.self) {
            _ = try await rest.request(.executeWebhook(id: "123456789012345678", token: deadToken), body: [])
        }
        await #expect(throws: DiscordRESTError.self) {
            _ = try await rest.request(.interactionCallback(id: "999", token: interactionToken), body: [])
        }
        await bridge.stop()

        var secrets = [deadToken, interactionToken, interaction["token"].string ?? "missing"]
        for request in try await fake.get("requests").array {
            let path = request["route"].string ?? ""
            let parts = path.split(separator: "/").map(String.init)
            for (index, part) in parts.enumerated() where (part == "webhooks" || part == "interactions") && index + 2 < parts.count + 1 {
                if index + 2 < parts.count { secrets.append(parts[index + 2]) }
            }
        }
        let text = log.text
        #expect(text.contains("\"level\":\"trace\"") || text.contains("\"level\":\"debug\""), "trace logging was on")
        #expect(text.contains("discord request failed"), "the failed request was logged")
        #expect(secrets.count > 3, "webhook tokens were seen in the fake's requests: \(secrets)")
        for secret in Set(secrets) where secret.count >= 8 && secret != "callback" && secret != "messages" {
            #expect(!text.contains(secret), "a token reached the logs: \(secret)")
        }
        try? FileManager.default.removeItem(atPath: log.path)
    }

    /// Point 8: permissions an interaction carried are forgotten when the moderator's role is demoted.
    @Test func demotedModeratorLosesRightsAnInteractionCached() async throws {
        let fake = try await FakeDiscord.start()
        defer { fake.stop() }
        let bridge = try await DiscordBridge(fake: fake, model: TimedModel { _ in "ok" })
        try await bridge.waitReady()
        let channel = ChannelRef(platform: "discord", channelID: World.general, serverID: World.guild)
        let moderator = ChatUser(id: World.moderator, displayName: "moderator")
        // The moderator runs a slash command: Discord hands us their resolved permissions, which the adapter caches.
        let interaction = try await fake.post("inject/interaction", ["name": "status", "user_id": World.moderator])
        try await eventually("interaction answered") {
            try await fake.get("interactions").array.contains { $0["id"].string == interaction["id"].string && !$0["_callback"].isNull }
        }
        #expect(await bridge.platform.isModerator(moderator, in: channel))
        // Demotion: the Moderator role loses MANAGE_CHANNELS (GUILD_ROLE_UPDATE).
        try await fake.post("guild", ["roles": [["id": World.moderatorRole, "name": "Moderator", "permissions": "0"]], "dispatch": true])
        try await eventually("the demotion takes effect") { !(await bridge.platform.isModerator(moderator, in: channel)) }
        let id = try await fake.inject("!pb persona set bolt", channel: World.general, author: World.moderator, mentionBot: false)
        try await eventually("the refusal") {
            try await fake.botMessages(in: World.general).contains {
                $0["message_reference"]["message_id"].string == id && $0["content"].string?.contains("only moderators") == true
            }
        }
        let key = ChannelKey(platform: "discord", serverID: World.guild, channelID: World.general)
        #expect(try await bridge.store.channelSettings(for: key)?.personas == nil)
        await bridge.stop()
    }

    /// Point 8: a GUILD_MEMBER_UPDATE that takes the Moderator role away ends the rights an interaction cached.
    @Test func moderatorWhoseRoleIsRemovedLosesRightsAtOnce() async throws {
        let fake = try await FakeDiscord.start()
        defer { fake.stop() }
        let bridge = try await DiscordBridge(fake: fake, model: TimedModel { _ in "ok" })
        try await bridge.waitReady()
        let channel = ChannelRef(platform: "discord", channelID: World.general, serverID: World.guild)
        let moderator = ChatUser(id: World.moderator, displayName: "moderator")
        let interaction = try await fake.post("inject/interaction", ["name": "status", "user_id": World.moderator])
        try await eventually("interaction answered") {
            try await fake.get("interactions").array.contains { $0["id"].string == interaction["id"].string && !$0["_callback"].isNull }
        }
        #expect(await bridge.platform.isModerator(moderator, in: channel))
        let update = """
            {"op":0,"s":9100,"t":"GUILD_MEMBER_UPDATE","d":{"guild_id":"\(World.guild)","roles":[],
            "user":{"id":"\(World.moderator)","username":"moderator"}}}
            """
        let payload = try GatewayPayload.decode(Array(update.utf8))
        guard case .guildMemberUpdate(let member) = payload.event else { Issue.record("\(payload.event)"); return }
        #expect(member.roles.isEmpty && member.user.id == World.moderator)
        await bridge.platform.ingest(payload)
        #expect(!(await bridge.platform.isModerator(moderator, in: channel)), "the removed role still grants rights")
        await bridge.stop()
    }

    /// Point 2 on Discord: a MESSAGE_UPDATE applies only when its author wrote the message.
    @Test func messageUpdateByAnotherAuthorDoesNotRewriteHistory() async throws {
        let fake = try await FakeDiscord.start()
        defer { fake.stop() }
        let bridge = try await DiscordBridge(fake: fake, model: TimedModel { _ in "ok" })
        try await bridge.waitReady()
        let key = ChannelKey(platform: "discord", serverID: World.guild, channelID: World.general)
        let id = try await fake.inject("just chatting", channel: World.general, author: World.alice, mentionBot: false)
        try await eventually("stored") { try await bridge.store.message(in: key, messageID: id) != nil }
        let forged = """
            {"op":0,"s":9000,"t":"MESSAGE_UPDATE","d":{"id":"\(id)","channel_id":"\(World.general)","guild_id":"\(World.guild)",
            "content":"I agree to everything","author":{"id":"\(World.bob)","username":"bob"}}}
            """
        await bridge.platform.ingest(try GatewayPayload.decode(Array(forged.utf8)))
        // A later message in the same channel: once it is stored, the forged edit before it has been handled.
        let marker = try await fake.inject("marker", channel: World.general, author: World.alice, mentionBot: false)
        try await eventually("marker stored") { try await bridge.store.message(in: key, messageID: marker) != nil }
        #expect(try await bridge.store.message(in: key, messageID: id)?.text == "just chatting", "bob rewrote alice's message")
        let own = """
            {"op":0,"s":9001,"t":"MESSAGE_UPDATE","d":{"id":"\(id)","channel_id":"\(World.general)","guild_id":"\(World.guild)",
            "content":"just chatting, edited","author":{"id":"\(World.alice)","username":"alice"}}}
            """
        await bridge.platform.ingest(try GatewayPayload.decode(Array(own.utf8)))
        try await eventually("alice's own edit applied") {
            try await bridge.store.message(in: key, messageID: id)?.text == "just chatting, edited"
        }
        await bridge.stop()
    }
}

import BridgeCore
import Foundation
import ModelClient
import PBTestSupport
import Storage
import Testing
@testable import PlatformDiscord

/// Webhook personas, slash commands, permissions, catch-up, pings and bad input, against the fake Discord.
@Suite(.serialized) struct DiscordFeatureTests {
    static let pingy = "@everyone look at <@&900000000000000201> and <@900000000000000403>, and @here too!"

    static func personaSet(_ name: String) -> [[String: Any]] {
        [["type": 1, "name": "set", "options": [["type": 3, "name": "name", "value": name]]]]
    }

    /// Waits for the interaction's answer: the callback, or the edited @original after a deferral.
    static func answer(_ fake: FakeDiscord, _ id: String) async throws -> (content: String, ephemeral: Bool) {
        try await eventuallyValue("the answer to interaction \(id)") { () async throws -> (content: String, ephemeral: Bool)? in
            let interaction = try await fake.get("interactions").array.first { $0["id"].string == id }
            guard let callback = interaction?["_callback"], !callback.isNull else { return nil }
            let flags = callback["data"]["flags"].int ?? 0
            if callback["type"].int == 4 { return (callback["data"]["content"].string ?? "", flags & 64 != 0) }
            if let original = interaction?["_original"].string,
               let content = try await fake.get("messages/\(original)")["content"].string, !content.isEmpty {
                return (content, flags & 64 != 0)
            }
            return nil
        }
    }

    @Test func noRequestCanPing() async throws {
        let fake = try await FakeDiscord.start()
        defer { fake.stop() }
        let bindings = [RouterConfiguration.Binding(platform: "discord", channelID: World.roleplay, personas: ["bolt"])]
        let bridge = try await DiscordBridge(fake: fake, model: TimedModel(pieces: 6, interval: .milliseconds(200)) { _ in Self.pingy },
                                             bindings: bindings)
        try await bridge.waitReady()
        try await fake.inject("ping everyone please")
        try await fake.inject("and you, smith", channel: World.roleplay)
        let interaction = try await fake.post("inject/interaction", ["name": "status", "user_id": World.alice])
        try await eventually("both replies") {
            let general = try await fake.botMessages(in: World.general).first?["content"].string
            let roleplay = try await fake.botMessages(in: World.roleplay).first?["content"].string
            return general == Self.pingy && roleplay == Self.pingy
        }
        _ = try await Self.answer(fake, interaction["id"].string ?? "")
        let requests = try await fake.get("requests").array
        var checked = 0
        for request in requests where ["POST", "PATCH"].contains(request["method"].string ?? "") {
            let route = request["route"].string ?? ""
            if route.hasSuffix("/webhooks") || route.hasSuffix("/typing") || route.contains("/commands") { continue }
            let body = route.hasSuffix("/callback") ? request["body"]["data"] : request["body"]
            let parse = body["allowed_mentions"]["parse"]
            #expect(!parse.isNull && parse.array.isEmpty, "\(request["method"].string ?? "") \(route) lacks allowed_mentions {parse: []}")
            checked += 1
        }
        #expect(checked >= 6, "creates, edits, webhook executes and edits, the interaction callback")
        #expect(requests.contains { $0["route"].string?.contains("/webhooks/") == true && $0["method"].string == "PATCH" })
        for channel in [World.general, World.roleplay] {
            for message in try await fake.botMessages(in: channel) {
                let detail = try await fake.get("messages/\(message["id"].string ?? "")")
                for ping in detail["_pings"].array {
                    #expect(ping["users"].array.isEmpty && ping["roles"].array.isEmpty && ping["everyone"].bool != true,
                            "message would ping: \(String(describing: ping.value))")
                }
            }
        }
        await bridge.stop()
    }

    @Test func slashPersonaSetNeedsAModeratorAndSurvivesARestart() async throws {
        let fake = try await FakeDiscord.start()
        defer { fake.stop() }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pb-discord-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("state.sqlite").path
        let model = TimedModel { request in "Speaking as \(request.messages.first?.name ?? "?")." }
        let channelKey = ChannelKey(platform: "discord", serverID: World.guild, channelID: World.general)

        let first = try await DiscordBridge(fake: fake, model: model, storePath: path)
        try await first.waitReady()
        try await eventually("commands registered") { try await fake.counter("command_puts") >= 1 }
        let state = try await fake.get("state")
        let names = state["commands"][World.guild].array.compactMap { $0["name"].string }
        #expect(Set(names) == ["persona", "reset", "regenerate", "continue", "talkativeness", "status", "budget", "why", "stop", "me", "next", "scene"])

        let refused = try await fake.post("inject/interaction", ["name": "persona", "options": Self.personaSet("bolt"), "user_id": World.alice])
        let refusal = try await Self.answer(fake, refused["id"].string ?? "")
        #expect(refusal.ephemeral)
        #expect(refusal.content.contains("only moderators"))
        #expect(try await first.store.channelSettings(for: channelKey)?.personas == nil)

        let accepted = try await fake.post("inject/interaction", ["name": "persona", "options": Self.personaSet("bolt"), "user_id": World.moderator])
        let answer = try await Self.answer(fake, accepted["id"].string ?? "")
        #expect(answer.content.contains("Bolt now answers here"))
        #expect(try await first.store.channelSettings(for: channelKey)?.personas == ["bolt"])
        // The text command works too, and is also refused for a non-moderator.
        try await fake.inject("!pb persona set aria", mentionBot: false)
        try await eventually("text refusal") {
            try await fake.botMessages(in: World.general).contains { $0["content"].string?.contains("only moderators") == true }
        }
        #expect(try await first.store.channelSettings(for: channelKey)?.personas == ["bolt"])
        await first.stop()
        try await first.store.close()

        let second = try await DiscordBridge(fake: fake, model: model, storePath: path)
        try await second.waitReady()
        #expect(try await second.store.channelSettings(for: channelKey)?.personas == ["bolt"])
        try await fake.inject("who is there?")
        try await eventually("bolt answers through the webhook") {
            try await fake.botMessages(in: World.general).contains { $0["author"]["username"].string == "Bolt" && $0["content"].string == "Speaking as Bolt." }
        }
        await second.stop()
    }

    @Test func webhookPersonasAreCreatedOnceAndFallBackWithoutPermission() async throws {
        let fake = try await FakeDiscord.start(config: ["routes": ["messages": ["limit": 50, "per": 5], "webhook_exec": ["limit": 50, "per": 5]]])
        defer { fake.stop() }
        let bindings = [RouterConfiguration.Binding(platform: "discord", channelID: World.roleplay, personas: ["bolt"]),
                        RouterConfiguration.Binding(platform: "discord", channelID: World.channels[2], personas: ["bolt"])]
        let bridge = try await DiscordBridge(fake: fake, model: TimedModel(pieces: 5, interval: .milliseconds(150)) { _ in "Hmph. Fine." },
                                             bindings: bindings)
        try await bridge.waitReady()
        for round in 0..<3 {
            try await fake.inject("smith, round \(round)", channel: World.roleplay)
            try await eventually("reply \(round)") {
                try await fake.botMessages(in: World.roleplay).filter { $0["content"].string == "Hmph. Fine." }.count == round + 1
            }
        }
        let messages = try await fake.botMessages(in: World.roleplay)
        #expect(messages.allSatisfy { !$0["webhook_id"].isNull && $0["author"]["username"].string == "Bolt" })
        let requests = try await fake.get("requests").array
        #expect(requests.filter { $0["method"].string == "POST" && $0["route"].string?.hasSuffix("/webhooks") == true }.count == 1)
        #expect(try await bridge.store.state(for: "discord.webhook.\(World.roleplay)") != nil)

        try await fake.post("permissions", ["manage_webhooks": false, "dispatch": true])
        // The recorded event: the adapter has applied the GUILD_ROLE_UPDATE (the bot's role lost MANAGE_WEBHOOKS).
        try await eventually("the role update applied") {
            bridge.platform.state.withLock { s in
                s.guilds[World.guild]?.roles["900000000000000202"].map { !$0.contains(.manageWebhooks) } ?? false
            }
        }
        for round in 0..<2 {
            try await fake.inject("smith, again \(round)", channel: World.channels[2])
            try await eventually("fallback reply \(round)") {
                try await fake.botMessages(in: World.channels[2]).filter { $0["content"].string == "**Bolt**: Hmph. Fine." }.count == round + 1
            }
        }
        #expect(bridge.logs.lines.filter { $0.contains("fall back to name-prefixed plain messages") }.count == 1)
        #expect(bridge.logs.lines.contains { $0.contains("MANAGE_WEBHOOKS") })
        await bridge.stop()
    }

    @Test func threadsWorkLikeChannels() async throws {
        let fake = try await FakeDiscord.start()
        defer { fake.stop() }
        let bindings = [RouterConfiguration.Binding(platform: "discord", channelID: World.thread, personas: ["bolt"])]
        let bridge = try await DiscordBridge(fake: fake, model: TimedModel(pieces: 4, interval: .milliseconds(200)) { _ in "Thread reply." },
                                             bindings: bindings)
        try await bridge.waitReady()
        try await fake.inject("in the thread", channel: World.thread)
        try await eventually("thread reply") { try await fake.botMessages(in: World.thread).first?["content"].string == "Thread reply." }
        // The persona speaks through the parent channel's webhook, into the thread.
        let reply = try await fake.botMessages(in: World.thread)[0]
        #expect(reply["author"]["username"].string == "Bolt" && !reply["webhook_id"].isNull)
        let requests = try await fake.get("requests").array
        #expect(requests.contains { $0["route"].string == "/channels/\(World.general)/webhooks" && $0["method"].string == "POST" })
        #expect(requests.filter { $0["route"].string?.hasPrefix("/webhooks/") == true }.allSatisfy { $0["path"].string?.contains("thread_id=\(World.thread)") == true })
        await bridge.stop()
    }

    @Test func catchUpAnswersFreshMissedMessagesOnce() async throws {
        let fake = try await FakeDiscord.start()
        defer { fake.stop() }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pb-discord-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("state.sqlite").path
        let bindings = [RouterConfiguration.Binding(platform: "discord", channelID: World.general, personas: ["aria"])]
        let model = TimedModel { request in "Caught: \(request.messages.last?.content.suffix(12) ?? "")" }

        let first = try await DiscordBridge(fake: fake, model: model, storePath: path, bindings: bindings)
        try await first.waitReady()
        // Seen long ago (ids carry time, so the missed messages below are newer).
        try await fake.inject("chatting before the downtime", mentionBot: false, extra: ["age_s": 1500])
        try await eventually("last seen id stored") { try await first.store.state(for: "discord.last_seen.\(World.general)") != nil }
        await first.stop()
        try await first.store.close()

        // While the bridge is down: one stale and one fresh message addressed to it, and one not addressed.
        let injectedAt = Date()
        let stale = try await fake.inject("stale question", extra: ["dispatch": false, "age_s": 1200])
        let fresh = try await fake.inject("fresh question", extra: ["dispatch": false, "age_s": 30])
        try await fake.inject("just chatting", mentionBot: false, extra: ["dispatch": false, "age_s": 20])

        let second = try await DiscordBridge(fake: fake, model: model, storePath: path, bindings: bindings)
        try await second.waitReady()
        try await eventually("catch-up reply") {
            try await fake.botMessages(in: World.general).contains { $0["message_reference"]["message_id"].string == fresh }
        }
        // A second new session must not answer again.
        try await fake.post("gateway/invalid_session", ["resumable": false])
        try await eventually("second session") { second.platform.gateway.stats.readies >= 2 }
        // The recorded event: the second session's catch-up has fetched the channel (then one short settle).
        try await eventually("the second session's catch-up fetch") {
            try await fake.get("requests").array.filter {
                $0["method"].string == "GET" && $0["path"].string?.contains("/channels/\(World.general)/messages?after=") == true
            }.count >= 2
        }
        try await second.waitIdle()
        let replies = try await fake.botMessages(in: World.general)
        #expect(replies.filter { $0["message_reference"]["message_id"].string == fresh }.count == 1)
        #expect(!replies.contains { $0["message_reference"]["message_id"].string == stale })
        #expect(replies.count == 1)
        // The missed messages keep the time Discord gives them, not the catch-up's: history has them where they
        // were posted, before the reply.
        let key = ChannelKey(platform: "discord", serverID: World.guild, channelID: World.general)
        let stored = try await second.store.recentMessages(in: key, limit: 20)
        let chatting = try #require(stored.firstIndex { $0.text == "just chatting" })
        let question = try #require(stored.firstIndex { $0.text.hasSuffix("fresh question") })
        let reply = try #require(stored.firstIndex { $0.kind == .persona })
        #expect(question < chatting && chatting < reply, "\(stored.map(\.text))")
        #expect(abs(stored[chatting].timestamp.timeIntervalSince(injectedAt) + 20) < 2, "\(stored[chatting].timestamp)")
        #expect(abs(stored[question].timestamp.timeIntervalSince(injectedAt) + 30) < 2, "\(stored[question].timestamp)")
        await second.stop()
    }

    @Test func tenThousandBadPayloadsCauseNoCrashAndNoReconnect() async throws {
        // A long heartbeat: while the fake blasts 10,000 frames on a loaded machine its ACKs can lag a 1 s interval,
        // and the (correct) zombie detection would reconnect; this test is about the payloads alone.
        let fake = try await FakeDiscord.start(config: ["heartbeat_interval_ms": 30_000])
        defer { fake.stop() }
        let bridge = try await DiscordBridge(fake: fake, model: TimedModel { _ in "Unbothered." })
        try await bridge.waitReady()
        let sent = try await fake.post("gateway/garbage", ["count": 10_000])
        #expect(sent["sent"].int == 10_000)
        try await fake.inject("still alive?")
        try await eventually("reply after garbage", timeout: .seconds(120)) {
            try await fake.botMessages(in: World.general).first?["content"].string == "Unbothered."
        }
        #expect(try await fake.counter("connections") == 1, "no disconnect")
        #expect(bridge.platform.gateway.stats.decodeFailures > 0)
        #expect(bridge.platform.gateway.stats.identifies == 1)
        await bridge.stop()
    }
}

extension DiscordFeatureTests {
    @Test func slowSlashCommandsAreDeferredAndAnsweredInTime() async throws {
        let fake = try await FakeDiscord.start()
        defer { fake.stop() }
        let bridge = try await DiscordBridge(fake: fake, model: TimedModel(pieces: 4, interval: .milliseconds(200)) { _ in "A fresh take." })
        try await bridge.waitReady()
        try await fake.inject("tell me something")
        try await eventually("first reply") { try await fake.botMessages(in: World.general).first?["content"].string == "A fresh take." }
        let regenerate = try await fake.post("inject/interaction", ["name": "regenerate", "user_id": World.moderator])
        let answer = try await Self.answer(fake, regenerate["id"].string ?? "")
        #expect(answer.ephemeral)
        #expect(!answer.content.isEmpty)
        let interaction = try await fake.get("interactions").array.first { $0["id"].string == regenerate["id"].string }
        #expect(interaction?["_callback"]["type"].int == 5, "deferred")
        #expect((interaction?["_callback"]["elapsed_s"].double ?? 99) < 3, "answered within 3 s")
        #expect(interaction?["_late_callbacks"].int == 0)
        try await eventually("regenerated reply") {
            let contents = try await fake.botMessages(in: World.general).compactMap { $0["content"].string }
            return contents.filter { $0 == "A fresh take." }.count == 1 && contents.contains("(replaced by a new reply)")
        }
        // A quick command is answered directly (type 4) and, being read-only, ephemerally.
        let status = try await fake.post("inject/interaction", ["name": "status", "user_id": World.alice])
        let statusAnswer = try await Self.answer(fake, status["id"].string ?? "")
        #expect(statusAnswer.ephemeral && statusAnswer.content.hasPrefix("Status"))
        await bridge.stop()
    }

    @Test func aSlashCommandOnASlowStoreIsDeferredAtOnceAndRunsExactlyOnce() async throws {
        let fake = try await FakeDiscord.start()
        defer { fake.stop() }
        var slow: SlowResetStore?
        let bridge = try await DiscordBridge(fake: fake, model: TimedModel { _ in "Noted." }, routerStore: { base in
            let store = SlowResetStore(base: base, delay: .seconds(4))
            slow = store
            return store
        })
        try await bridge.waitReady()
        let reset = try await fake.post("inject/interaction", ["name": "reset", "user_id": World.moderator])
        let answer = try await Self.answer(fake, reset["id"].string ?? "")
        #expect(!answer.content.isEmpty)
        let interaction = try await fake.get("interactions").array.first { $0["id"].string == reset["id"].string }
        #expect(interaction?["_callback"]["type"].int == 5, "deferred")
        #expect((interaction?["_callback"]["elapsed_s"].double ?? 99) < 2.5, "acknowledged well inside 3 s")
        #expect(interaction?["_late_callbacks"].int == 0)
        // The recorded event: the command's run has ended (its answer is out, nothing of it runs any more); a second
        // run would have started by then, so one short settle shows it.
        try await eventually("the reset finished") { slow?.resetsRunning == 0 }
        try await settle()
        #expect(slow?.resetCount == 1, "the command ran exactly once")
        await bridge.stop()
    }

    @Test func globalSlashCommandsAndEditsAndDeletesReachHistory() async throws {
        let fake = try await FakeDiscord.start()
        defer { fake.stop() }
        let bridge = try await DiscordBridge(fake: fake, model: TimedModel { _ in "Noted." }) { $0.slashCommands = .global }
        try await bridge.waitReady()
        try await eventually("global commands") { try await fake.get("state")["commands"]["global"].array.count == 12 }
        let id = try await fake.inject("a first draft")
        try await eventually("reply") { try await fake.botMessages(in: World.general).first?["content"].string == "Noted." }
        let key = ChannelKey(platform: "discord", serverID: World.guild, channelID: World.general)
        try await fake.post("inject/message_update", ["id": id, "content": "a second draft"])
        try await eventually("edit stored") { try await bridge.store.message(in: key, messageID: id)?.text == "a second draft" }
        try await fake.post("inject/message_delete", ["id": id])
        try await eventually("deletion stored") { try await bridge.store.message(in: key, messageID: id) == nil }
        // Our own edits come back as MESSAGE_UPDATE and are not taken as user turns.
        let reply = try await fake.botMessages(in: World.general)[0]
        #expect(try await bridge.store.message(in: key, messageID: reply["id"].string ?? "")?.text == "Noted.")
        await bridge.stop()
    }

    @Test func multiFrameZlibMessagesAreReassembled() async throws {
        let fake = try await FakeDiscord.start(config: ["split_frames": 3])
        defer { fake.stop() }
        let bridge = try await DiscordBridge(fake: fake, model: TimedModel { _ in "In pieces." })
        try await bridge.waitReady()
        try await fake.inject("split me")
        try await eventually("reply") { try await fake.botMessages(in: World.general).first?["content"].string == "In pieces." }
        #expect(bridge.platform.gateway.stats.decodeFailures == 0)
        await bridge.stop()
    }
}

extension DiscordFeatureTests {
    @Test func textCommandModeratorsComeFromRolesOverwritesAndConfig() async throws {
        let fake = try await FakeDiscord.start()
        defer { fake.stop() }
        let bridge = try await DiscordBridge(fake: fake, model: TimedModel { _ in "ok" }) { $0.adminUsers = [World.owner] }
        try await bridge.waitReady()
        func settings(_ channel: String) async throws -> [String]? {
            try await bridge.store.channelSettings(for: ChannelKey(platform: "discord", serverID: World.guild, channelID: channel))?.personas
        }
        func command(_ text: String, in channel: String, by author: String) async throws -> String {
            let id = try await fake.inject(text, channel: channel, author: author, mentionBot: false)
            try await eventually("answer to \(text)") {
                try await fake.botMessages(in: channel).contains { $0["message_reference"]["message_id"].string == id }
            }
            return try await fake.botMessages(in: channel).first { $0["message_reference"]["message_id"].string == id }?["content"].string ?? ""
        }
        // Bob gets MANAGE_CHANNELS through a member overwrite on roleplay only.
        try await fake.post("guild", ["channels": [["id": World.roleplay, "type": 0, "name": "roleplay", "permission_overwrites": [
            ["id": World.bob, "type": 1, "allow": "16", "deny": "0"]]]], "dispatch": true])
        try await eventually("overwrite applied") { await bridge.platform.isModerator(ChatUser(id: World.bob, displayName: "bob"),
                                                                                       in: ChannelRef(platform: "discord", channelID: World.roleplay, serverID: World.guild)) }
        #expect(try await command("!pb persona set bolt", in: World.general, by: World.bob).contains("only moderators"))
        #expect(try await settings(World.general) == nil)
        #expect(try await command("!pb persona set bolt", in: World.roleplay, by: World.bob).contains("Bolt now answers"))
        #expect(try await settings(World.roleplay) == ["bolt"])
        // The Moderator role (MANAGE_CHANNELS) works everywhere; a config admin too.
        #expect(try await command("!pb persona set bolt", in: World.channels[2], by: World.moderator).contains("Bolt now answers"))
        #expect(try await command("!pb persona off", in: World.channels[3], by: World.owner).contains("off"))
        // A role update that removes MANAGE_CHANNELS from the Moderator role takes effect at once.
        try await fake.post("guild", ["roles": [["id": World.moderatorRole, "name": "Moderator", "permissions": "8192"]], "dispatch": true])
        try await eventually("role update applied") {
            !(await bridge.platform.isModerator(ChatUser(id: World.moderator, displayName: "moderator"),
                                                in: ChannelRef(platform: "discord", channelID: World.general, serverID: World.guild)))
        }
        await bridge.stop()
    }

    @Test func opOneGetsAnImmediateHeartbeat() async throws {
        let fake = try await FakeDiscord.start(config: ["heartbeat_interval_ms": 30_000])
        defer { fake.stop() }
        let bridge = try await DiscordBridge(fake: fake, model: TimedModel { _ in "ok" })
        try await bridge.waitReady()
        let before = bridge.platform.gateway.stats.heartbeats
        try await fake.post("gateway/heartbeat_request")
        try await eventually("heartbeat answer") { bridge.platform.gateway.stats.heartbeats > before }
        // The fake records the frame when it reads it, which can be a moment after the bot sent it.
        try await eventually("the fake to record the answer") {
            let frames = try await fake.get("frames").array
            let request = frames.last { $0["dir"].string == "out" && $0["op"].int == 1 }
            let answer = frames.last { $0["dir"].string == "in" && $0["op"].int == 1 }
            guard let request, let answer else { return false }
            return (answer["monotonic"].double ?? 0) >= (request["monotonic"].double ?? 1)
        }
        let frames = try await fake.get("frames").array
        let answer = frames.last { $0["dir"].string == "in" && $0["op"].int == 1 }
        #expect(answer?["d"].int != nil, "the heartbeat carries the last sequence number")
        await bridge.stop()
    }
}

extension DiscordFeatureTests {
    @Test func aDeletedWebhookIsReplacedOnce() async throws {
        let fake = try await FakeDiscord.start()
        defer { fake.stop() }
        let bindings = [RouterConfiguration.Binding(platform: "discord", channelID: World.roleplay, personas: ["bolt"])]
        let bridge = try await DiscordBridge(fake: fake, model: TimedModel { _ in "New hook." }, bindings: bindings)
        // A stored webhook Discord no longer knows (deleted by a server admin).
        try await bridge.store.setState("123456789012345678 gone-token", for: "discord.webhook.\(World.roleplay)")
        try await bridge.waitReady()
        try await fake.inject("smith?", channel: World.roleplay)
        try await eventually("reply through a new webhook") {
            try await fake.botMessages(in: World.roleplay).first?["content"].string == "New hook."
        }
        let stored = try await bridge.store.state(for: "discord.webhook.\(World.roleplay)")
        #expect(stored != nil && stored?.hasPrefix("123456789012345678") == false)
        await bridge.stop()
    }
}

extension DiscordFeatureTests {
    @Test func directMessagesAreAlwaysAddressed() async throws {
        let fake = try await FakeDiscord.start()
        defer { fake.stop() }
        let bridge = try await DiscordBridge(fake: fake, model: TimedModel { _ in "Hello in private." }, dmPersonas: ["aria"])
        try await bridge.waitReady()
        let result = try await fake.post("inject/message", ["content": "psst, are you there", "author_id": World.alice, "dm": true])
        let channel = result["message"]["channel_id"].string ?? ""
        #expect(result["message"]["guild_id"].isNull)
        try await eventually("DM reply") { try await fake.botMessages(in: channel).first?["content"].string == "Hello in private." }
        await bridge.stop()
    }
}

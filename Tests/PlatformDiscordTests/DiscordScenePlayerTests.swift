import BridgeConfig
import BridgeCore
import Foundation
import ModelClient
import PBTestSupport
import Storage
import Synchronization
import Testing
@testable import PlatformDiscord

/// Player personas (`!pb me`, `/me`) and mature personas, against the fake Discord.
@Suite(.serialized) struct DiscordScenePlayerTests {
    /// Every request the model was sent, in order.
    final class Requests: Sendable {
        let seen = Mutex<[ChatRequest]>([])
        var all: [ChatRequest] { seen.withLock { $0 } }
        func record(_ request: ChatRequest) { seen.withLock { $0.append(request) } }
    }

    static func meSet(_ name: String, _ description: String) -> [[String: Any]] {
        [["type": 1, "name": "set", "options": [["type": 3, "name": "name", "value": name],
                                                 ["type": 3, "name": "description", "value": description]]]]
    }

    @Test func twoPlayersAreDescribedInUserSystemAndUserResolvesPerSpeaker() async throws {
        let fake = try await FakeDiscord.start()
        defer { fake.stop() }
        var aria = DiscordBridge.aria
        aria.postHistory = "Answer {{user}} in character."
        let requests = Requests()
        let model = TimedModel(pieces: 2, interval: .milliseconds(20)) { request in
            requests.record(request)
            return "Welcome, traveller."
        }
        let bridge = try await DiscordBridge(fake: fake, model: model, personas: [aria, DiscordBridge.bolt])
        try await bridge.waitReady()
        try await eventually("commands registered") { try await fake.counter("command_puts") >= 1 }

        // Alice by text command, for this scene; Bob by /me, everywhere on Discord.
        try await fake.inject("!pb me set Kael: A scarred ranger who trusts no one.", mentionBot: false)
        try await eventually("alice's confirmation") {
            try await fake.botMessages(in: World.general).contains { $0["content"].string?.contains("now plays Kael in this scene") == true }
        }
        var options = Self.meSet("Mira", "A court mage with a secret.")
        options[0]["options"] = (options[0]["options"] as? [[String: Any]] ?? []) + [["type": 5, "name": "everywhere", "value": true]]
        let slash = try await fake.post("inject/interaction", ["name": "me", "options": options, "user_id": World.bob])
        let confirmed = try await DiscordFeatureTests.answer(fake, slash["id"].string ?? "")
        #expect(confirmed.content.contains("now plays Mira everywhere on discord"), "\(confirmed.content)")
        let general = ChannelKey(platform: "discord", serverID: World.guild, channelID: World.general)
        #expect(try await bridge.store.playerPersona(platform: "discord", userID: World.alice, scene: general)?.name == "Kael")
        #expect(try await bridge.store.playerPersona(platform: "discord", userID: World.bob, scene: nil)?.name == "Mira")

        try await fake.inject("Hello there, who runs this inn?", author: World.alice)
        try await eventually("the reply to alice") { requests.all.count == 1 }
        try await bridge.waitIdle()
        try await fake.inject("I'd like a room for the night.", author: World.bob)
        try await eventually("the reply to bob") { requests.all.count == 2 }
        try await bridge.waitIdle()

        let (first, second) = (requests.all[0].messages, requests.all[1].messages)
        let people1 = try #require(first.first { $0.role == .userSystem }).content
        #expect(people1.contains("- Kael: A scarred ranger who trusts no one."), "\(people1)")
        #expect(first.last?.role == .system && first.last?.content == "Answer Kael in character.")
        #expect(first.filter { $0.role == .user }.last?.name == "Kael")

        let people2 = try #require(second.first { $0.role == .userSystem }).content
        #expect(people2.contains("- Kael: A scarred ranger who trusts no one."), "\(people2)")
        #expect(people2.contains("- Mira: A court mage with a secret."), "\(people2)")
        #expect(second.last?.role == .system && second.last?.content == "Answer Mira in character.")
        let names = second.filter { $0.role == .user }.compactMap(\.name)
        #expect(names.suffix(2) == ["Kael", "Mira"], "players' messages carry their characters' names: \(names)")
        #expect(!second.contains { $0.name == "alice" || $0.name == "bob" })
        // `{{user}}` in the character card stays one stable name, so the cached prefix does not change per speaker.
        #expect(first.first == second.first)

        let shown = try await fake.post("inject/interaction", ["name": "me", "options": [["type": 1, "name": "show"]], "user_id": World.bob])
        let show = try await DiscordFeatureTests.answer(fake, shown["id"].string ?? "")
        #expect(show.ephemeral)
        #expect(show.content.contains("you play Mira: A court mage with a secret."), "\(show.content)")

        // Clearing the scene's character gives the player their own name back.
        try await fake.inject("!pb me clear", mentionBot: false)
        try await eventually("alice's clear") {
            try await fake.botMessages(in: World.general).contains { $0["content"].string?.contains("no longer plays Kael here") == true }
        }
        #expect(try await bridge.store.playerPersonas(in: general, userIDs: [World.alice, World.bob]).keys.sorted() == [World.bob])
        await bridge.stop()
    }

    @Test func matureResponderOnlyInAgeRestrictedChannels() async throws {
        let fake = try await FakeDiscord.start()
        defer { fake.stop() }
        var vesper = Persona(name: "vesper", displayName: "Vesper", character: "Vesper is a noir femme fatale.")
        vesper.contentRating = .mature
        let model = TimedModel(pieces: 2, interval: .milliseconds(20)) { request in "\(request.messages.first?.name ?? "?") purrs." }
        let bindings = [RouterConfiguration.Binding(platform: "discord", channelID: World.general, personas: ["vesper"])]
        let bridge = try await DiscordBridge(fake: fake, model: model, personas: [DiscordBridge.aria, vesper], defaultPersonas: ["aria"],
                                             bindings: bindings)
        try await bridge.waitReady()
        let general = ChannelRef(platform: "discord", channelID: World.general, serverID: World.guild)
        let roleplay = ChannelRef(platform: "discord", channelID: World.roleplay, serverID: World.guild)
        try await eventually("the guild's channels known") { await bridge.platform.allowsMatureContent(in: general) == false
            && bridge.platform.state.withLock { $0.channels[World.roleplay] != nil } }

        // Bound by config to a channel that is not age-restricted: a player gets no answer and no notice.
        try await fake.inject("Vesper, are you there?")
        try await bridge.waitIdle()
        #expect(try await fake.botMessages(in: World.general).isEmpty)
        // A moderator is told why, once.
        try await fake.inject("Vesper?", author: World.moderator)
        try await eventually("the moderator's notice") {
            try await fake.botMessages(in: World.general).contains { $0["content"].string?.contains("Vesper is a mature persona and stays quiet here") == true }
        }
        try await fake.inject("Vesper, hello?", author: World.moderator)
        try await bridge.waitIdle()
        #expect(try await fake.botMessages(in: World.general).count == 1, "no second notice, no reply")

        // Binding it live in a normal channel is refused.
        let refused = try await fake.post("inject/interaction", ["name": "persona", "options": DiscordFeatureTests.personaSet("vesper"),
                                                                 "user_id": World.moderator, "channel_id": World.roleplay])
        let refusal = try await DiscordFeatureTests.answer(fake, refused["id"].string ?? "")
        #expect(refusal.content.contains("Vesper is a mature persona and answers only in age-restricted channels"), "\(refusal.content)")
        #expect(refusal.content.contains("Nothing was changed"))
        let roleplayKey = ChannelKey(platform: "discord", serverID: World.guild, channelID: World.roleplay)
        #expect(try await bridge.store.channelSettings(for: roleplayKey)?.personas == nil)

        // The channel becomes age-restricted (CHANNEL_UPDATE): binding works and Vesper answers.
        try await Self.setNSFW(fake, World.roleplay, true)
        try await eventually("the CHANNEL_UPDATE applied") { await bridge.platform.allowsMatureContent(in: roleplay) }
        let accepted = try await fake.post("inject/interaction", ["name": "persona", "options": DiscordFeatureTests.personaSet("vesper"),
                                                                  "user_id": World.moderator, "channel_id": World.roleplay])
        let acceptance = try await DiscordFeatureTests.answer(fake, accepted["id"].string ?? "")
        #expect(acceptance.content.contains("Vesper now answers here"), "\(acceptance.content)")
        try await fake.inject("Vesper, a drink?", channel: World.roleplay)
        try await eventually("vesper answers in the age-restricted channel") {
            try await fake.botMessages(in: World.roleplay).contains { $0["content"].string == "Vesper purrs." }
        }
        try await bridge.waitIdle()
        let answered = try await fake.botMessages(in: World.roleplay).count

        // Age restriction turned off again: she stops answering at once.
        try await Self.setNSFW(fake, World.roleplay, false)
        try await eventually("the second CHANNEL_UPDATE applied") { await !bridge.platform.allowsMatureContent(in: roleplay) }
        try await fake.inject("Vesper, another?", channel: World.roleplay)
        try await bridge.waitIdle()
        #expect(try await fake.botMessages(in: World.roleplay).count == answered)
        #expect(bridge.logs.lines.contains { $0.contains("mature persona not answering") })
        await bridge.stop()
    }

    /// Flips a channel's `nsfw` through the fake's guild control, which dispatches CHANNEL_UPDATE with the whole channel.
    static func setNSFW(_ fake: FakeDiscord, _ channelID: String, _ nsfw: Bool) async throws {
        let state = try await fake.get("state")
        let channels = state["guilds"][World.guild]["channels"].array
        guard var channel = channels.first(where: { $0["id"].string == channelID })?.value as? [String: Any] else {
            throw TestServerError("the fake has no channel \(channelID)")
        }
        channel["nsfw"] = nsfw
        let result = try await fake.post("guild", ["channels": [channel]])
        #expect(result["events"].array.compactMap(\.string) == ["CHANNEL_UPDATE"])
    }
}

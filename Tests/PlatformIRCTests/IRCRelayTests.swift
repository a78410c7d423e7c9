import BridgeConfig
import BridgeCore
import Foundation
import ModelClient
import PBTestSupport
@testable import PlatformIRC
import Storage
import Testing

/// The relay test's model: it greets the last speaker by name.
enum Greeting {
    static func reply(to name: String) -> String { "Glad you asked, \(name)! The harbour is calm tonight." }
}

/// A matterbridge-style relay on a real ngIRCd: the people it relays are credited by name, and the bridge's own
/// reply carried back by the relay triggers nothing.
@Suite(.serialized) struct IRCRelayTests {
    @Test func aRelayedSpeakerIsCreditedAndTheRelayedEchoTriggersNothing() async throws {
        let server = try await Ngircd.start()
        defer { server.stop() }
        // The relay as the configuration file names it: matterbridge's default RemoteNickFormat.
        let loaded = ConfigLoader(environment: ["OPENROUTER_API_KEY": "k"]).parse(source: """
            [platforms.irc]
            enabled = false
            relays = [{user = "mbridge", format = "matterbridge"}]
            """, file: FileManager.default.temporaryDirectory.appendingPathComponent("pb-relay-\(UUID().uuidString)/relay.toml").path)
        let file = try #require(loaded.configuration, "\(loaded.diagnostics)")
        var configuration = RouterConfiguration(
            personas: [Persona(name: "aria", displayName: "Aria", character: "You are Aria.")],
            bindings: [.init(platform: "irc", channelID: "#harbour", personas: ["aria"], trigger: TriggerOverrides(cooldownSeconds: 0))])
        configuration.relays = RouterConfiguration(file).relays
        #expect(configuration.relays["irc"]?.first?.format == .matterbridge)

        // ngIRCd allows nicks of 9 characters: the relay is matterbridge under a shorter nick.
        let relay = try await IRCHuman.connect(port: server.port, nick: "mbridge")
        try await relay.join("#harbour")
        let model = AnsweringModel { Greeting.reply(to: $0.messages.last?.name ?? "?") }
        let bridge = try RunningBridge.start(botConfiguration(port: server.port, channels: ["#harbour"]), router: configuration, model: model)
        defer { bridge.task.cancel() }
        _ = try await relay.waitFor("aria joins #harbour") { $0.hasPrefix(":aria!") && $0.contains(" JOIN ") }

        // What Aria said in the channel, its lines (IRC sends a reply's sentences as lines of their own) joined.
        @Sendable func said() -> String {
            relay.lines.filter { $0.hasPrefix(":aria!") }.compactMap { line in
                line.range(of: " PRIVMSG #harbour :").map { String(line[$0.upperBound...]) }
            }.joined(separator: " ")
        }
        try await relay.send("PRIVMSG #harbour :[discord] <alice> hey Aria, how is the harbour?")
        let toAlice = Greeting.reply(to: "alice")
        try await eventually("Aria's answer to alice", detail: { said() }) { said() == toAlice }
        let first = try #require(model.requests.first)
        #expect(first.messages.last == ChatMessage(role: .user, content: "hey Aria, how is the harbour?", name: "alice"))
        #expect(!first.messages.map(\.content).joined().contains("mbridge"), "the relay itself is nobody in the scene")

        // The relay carries the reply to Discord and, from another bridge there, back: under Aria's name (which
        // also mentions the bot's nick), whole and line by line. It is ours.
        try await relay.send("PRIVMSG #harbour :[discord] <Aria> \(toAlice)")
        for line in toAlice.split(separator: "!", maxSplits: 1) {
            try await relay.send("PRIVMSG #harbour :[discord] <Aria> \(line.trimmingCharacters(in: .whitespaces))")
        }
        // Messages in a channel are handled in order: once bob is answered, the echoes were handled before him.
        try await relay.send("PRIVMSG #harbour :[discord] <bob> Aria, and the lamps?")
        let toBob = Greeting.reply(to: "bob")
        try await eventually("Aria's answer to bob", detail: { said() }) { said().hasSuffix(toBob) }
        #expect(said() == toAlice + " " + toBob, "nothing else was said")
        #expect(model.requests.count == 2, "the echo triggered nothing")
        let second = try #require(model.requests.last)
        #expect(second.messages.last?.name == "bob")
        #expect(!second.messages.contains { $0.role == .user && $0.name == "Aria" }, "the echo is not in history")
        await bridge.stop()
        await relay.close()
    }
}

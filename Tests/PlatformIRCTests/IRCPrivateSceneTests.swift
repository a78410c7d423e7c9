import BridgeConfig
import BridgeCore
import Foundation
import ModelClient
import PBTestSupport
@testable import PlatformIRC
import Storage
import Testing

/// IRC private messages to the bot's nick against the real ngIRCd: each sender's PM is a scene of its own, answered
/// only by `dm_personas`, and the sender picks among them without being an operator.
@Suite(.serialized) struct IRCPrivateSceneTests {
    @Test func eachSendersPrivateMessagesAreTheirOwnScene() async throws {
        let server = try await Ngircd.start()
        defer { server.stop() }
        let alice = try await IRCHuman.connect(port: server.port, nick: "alice")
        let bob = try await IRCHuman.connect(port: server.port, nick: "bob")
        let aria = Persona(name: "aria", displayName: "Aria", character: "You are Aria.")
        let bolt = Persona(name: "bolt", displayName: "Bolt", character: "You are Bolt.")
        let cleo = Persona(name: "cleo", displayName: "Cleo", character: "You are Cleo.")
        var configuration = RouterConfiguration(personas: [aria, bolt, cleo], defaultPersonas: ["cleo"])
        configuration.dmPersonas = ["irc": ["aria", "bolt"]]
        let model = AnsweringModel.personaAnswers()
        // alice joins first: had the bot joined before her, she would see it in the NAMES reply, not as a JOIN.
        try await alice.join("#test")
        let bridge = try RunningBridge.start(botConfiguration(port: server.port, channels: ["#test"]), router: configuration, model: model)
        defer { bridge.task.cancel() }
        _ = try await alice.waitFor("aria joins #test") { $0.hasPrefix(":aria!") && $0.contains(" JOIN ") }

        // No nick needed in a private message: it is addressed to the bot.
        try await alice.send("PRIVMSG aria :My secret colour is blue.")
        _ = try await alice.waitFor("Aria's answer to alice") { $0.hasPrefix(":aria!") && $0.hasSuffix("PRIVMSG alice :Aria answers.") }
        try await bob.send("PRIVMSG aria :I like cheese.")
        _ = try await bob.waitFor("the answer to bob") { $0.hasPrefix(":aria!") && $0.hasSuffix("PRIVMSG bob :Aria answers.") }
        let toBob = try #require(model.requests.last).messages.map(\.content).joined(separator: "\n")
        #expect(toBob.contains("I like cheese.") && !toBob.contains("blue"), "bob's request holds only bob's PM")

        try await alice.send("PRIVMSG aria :!pb persona set cleo")
        _ = try await alice.waitFor("the refusal") { $0.contains("PRIVMSG alice :") && $0.contains("you can talk to: aria, bolt") }
        try await alice.send("PRIVMSG aria :!pb persona set bolt")
        _ = try await alice.waitFor("the pick") { $0.contains("PRIVMSG alice :Bolt now answers here.") }
        try await alice.send("PRIVMSG aria :What is my secret colour?")
        _ = try await alice.waitFor("Bolt's answer to alice") { $0.hasSuffix("PRIVMSG alice :Bolt: Bolt answers.") }
        let toAlice = try #require(model.requests.last).messages
        #expect(toAlice.first?.name == "Bolt")
        let aliceText = toAlice.map(\.content).joined(separator: "\n")
        #expect(aliceText.contains("My secret colour is blue.") && !aliceText.contains("cheese"))

        try await bob.send("PRIVMSG aria :Still cheese.")
        try await eventually("the second answer to bob") { bob.lines.filter { $0.hasSuffix("PRIVMSG bob :Aria answers.") }.count >= 2 }
        #expect(model.requests.last?.messages.first?.name == "Aria", "alice's pick is hers alone")
        // The scene is keyed by who sent it (user@host here, without services), not by the nick alone.
        let keys = try await bridge.store.allChannelSettings().keys
        #expect(keys.contains { $0.channelID.hasPrefix("alice~host:") })
        await bridge.stop()
        await alice.close()
        await bob.close()
    }
}

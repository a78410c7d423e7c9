import BridgeConfig
import Foundation
import Testing

@Suite("Trigger merge order and persona helpers")
struct TriggerAndPersonaTests {
    @Test("trigger settings merge defaults → persona → channel binding")
    func mergeOrder() {
        let defaults = TriggerSettings(mode: .probability, talkativeness: 0.1, cooldownSeconds: 5, maxBotTurns: 3, respondToBots: false)
        let persona = TriggerOverrides(mode: .mentionOnly, talkativeness: 0.6, cooldownSeconds: 30)
        let channel = TriggerOverrides(talkativeness: 0.9, respondToBots: true)
        let merged = TriggerSettings.merged(defaults: defaults, persona: persona, channel: channel)
        #expect(merged == TriggerSettings(mode: .mentionOnly, talkativeness: 0.9, cooldownSeconds: 30, maxBotTurns: 3, respondToBots: true))
        #expect(TriggerSettings.merged(defaults: defaults, persona: .init(), channel: .init()) == defaults)
    }

    @Test("the loaded configuration applies the three layers from TOML")
    func mergeFromFiles() throws {
        let directory = try TempConfigDirectory()
        defer { directory.remove() }
        try directory.write("personas/alice.toml", """
            character = "You are Alice."
            [trigger]
            mode = "mention-only"
            cooldown_seconds = 12
            max_bot_turns = 1
            [model]
            temperature = 0.7
            """)
        let file = try directory.write("bridge.toml", """
            [model]
            top_p = 0.8
            temperature = 0.9
            [defaults.trigger]
            mode = "always"
            talkativeness = 0.2
            cooldown_seconds = 3
            [platforms.console]
            [[channels]]
            platform = "console"
            channel = "demo"
            personas = ["alice"]
            trigger = { cooldown_seconds = 1, respond_to_bots = true }
            """)
        let result = ConfigLoader(environment: ["OPENROUTER_API_KEY": "k"]).load(configPath: file)
        #expect(result.diagnostics == [], "\(checkReport(result.diagnostics))")
        let configuration = try #require(result.configuration)
        let alice = try #require(configuration.personas["alice"])
        #expect(alice.displayName == "alice")
        let binding = try #require(configuration.binding(platform: "console", channel: "demo"))
        let settings = configuration.triggerSettings(persona: alice, binding: binding)
        #expect(settings == TriggerSettings(mode: .mentionOnly, talkativeness: 0.2, cooldownSeconds: 1, maxBotTurns: 1, respondToBots: true))
        #expect(configuration.modelParameters(persona: alice) == ModelOverrides(temperature: 0.7, topP: 0.8, maxOutputTokens: nil))
    }

    @Test("names match as whole words, case-insensitively, including aliases")
    func wholeWordNames() {
        let persona = Persona(name: "rook", displayName: "Rook Malone", aliases: ["gumshoe"], character: "x")
        #expect(persona.isNamed(in: "hey ROOK, got a minute?"))
        #expect(persona.isNamed(in: "Rook Malone: hello"))
        #expect(persona.isNamed(in: "you there, gumshoe"))
        #expect(!persona.isNamed(in: "the rookie arrived"))
        #expect(!persona.isNamed(in: "crooked cops"))
    }

    @Test("a user_system placeholder that is never filled in is a warning at its line")
    func unknownPlaceholder() throws {
        let result = ConfigLoader(environment: [:]).parsePersona(source: """
            character = "You are Alice."
            user_system = "{{user}} meets {{char}}. {{people}}"
            """, file: "/tmp/alice.toml")
        #expect(result.persona != nil)
        let warning = try #require(result.diagnostics.first)
        #expect(result.diagnostics.count == 1)
        #expect(warning.severity == .warning)
        #expect(warning.line == 2)
        #expect(warning.message.contains("{{user}}"))
    }
}

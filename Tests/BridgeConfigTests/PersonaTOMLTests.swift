import BridgeConfig
import Foundation
import Testing

@Suite("Persona TOML export and API-key resolution")
struct PersonaTOMLTests {
    @Test("an exported persona parses back to the same persona with no diagnostics")
    func roundTrip() throws {
        let persona = Persona(
            name: "captain-rhea", displayName: "Captain \"Rhea\"", aliases: ["Rhea"], avatarURL: "https://example.org/r.png",
            character: "Line one with a backslash \\ and \"\"\"triple\"\"\" quotes.\nLine two.\ttab",
            userSystemTemplate: "Aboard with {{char}}:\n{{people}}", examples: [PersonaExample(user: "hi\nthere", ai: "*waves*")],
            greeting: "Welcome.", model: ModelOverrides(temperature: 0.75, maxOutputTokens: 300),
            trigger: TriggerOverrides(mode: .probability, talkativeness: 0.25, respondToBots: true),
            maxReplyCharacters: 800, actionMarker: "*")
        let directory = try TempConfigDirectory()
        defer { directory.remove() }
        let file = try directory.write("personas/captain-rhea.toml", persona.tomlText())
        let result = ConfigLoader(environment: [:]).loadPersona(path: file)
        #expect(result.diagnostics == [], "\(checkReport(result.diagnostics))\n\(persona.tomlText())")
        var loaded = try #require(result.persona)
        loaded.sourcePath = nil
        #expect(loaded == persona)
    }

    @Test("an imported card exports to a persona file that loads cleanly")
    func importedCardLoads() throws {
        let json = #"{"spec":"chara_card_v2","data":{"name":"Moss","description":"A talking moss wall.","mes_example":"<START>\n{{user}}: hi\n{{char}}: *rustles*"}}"#
        let (persona, _) = try CharacterCardImporter.importPersona(json: Data(json.utf8))
        let directory = try TempConfigDirectory()
        defer { directory.remove() }
        let file = try directory.write("personas/\(persona.name).toml", persona.tomlText())
        let result = ConfigLoader(environment: [:]).loadPersona(path: file)
        #expect(result.diagnostics == [])
        #expect(result.persona?.examples == [PersonaExample(user: "hi", ai: "*rustles*")])
    }

    @Test("resolveAPIKey names the variable when missing and reads env or file otherwise")
    func resolveKey() throws {
        var settings = ModelSettings(provider: .openrouter)
        let missing = ConfigLoader(environment: [:]).resolveAPIKey(for: &settings)
        #expect(missing?.message.contains("OPENROUTER_API_KEY") == true)
        #expect(settings.apiKey == nil)
        #expect(ConfigLoader(environment: ["OPENROUTER_API_KEY": "sk"]).resolveAPIKey(for: &settings) == nil)
        #expect(settings.apiKey?.reveal() == "sk")

        let directory = try TempConfigDirectory()
        defer { directory.remove() }
        var fromFile = ModelSettings(provider: .minimax, apiKeyFile: "nokey.txt")
        let problem = try #require(ConfigLoader(environment: [:]).resolveAPIKey(for: &fromFile, relativeTo: directory.path))
        #expect(problem.message.contains(directory.path + "/nokey.txt"))
        try directory.write("key.txt", "mm\n")
        fromFile.apiKeyFile = "key.txt"
        #expect(ConfigLoader(environment: [:]).resolveAPIKey(for: &fromFile, relativeTo: directory.path) == nil)
        #expect(fromFile.apiKey?.reveal() == "mm")
    }

    @Test("a missing api_key_file in the config is one error at its line")
    func missingKeyFileInConfig() throws {
        let directory = try TempConfigDirectory()
        defer { directory.remove() }
        let file = try directory.write("bridge.toml", """
            [model]
            provider = "minimax"
            api_key_file = "secrets/minimax.key"
            """)
        let result = ConfigLoader(environment: [:]).load(configPath: file)
        #expect(result.diagnostics.count == 1, "\(checkReport(result.diagnostics))")
        #expect(result.diagnostics.first?.keyPath == "model.api_key_file")
        #expect(result.diagnostics.first?.line == 3)
    }

    @Test("suspicious but usable settings are warnings and the configuration still loads")
    func warnings() throws {
        let directory = try TempConfigDirectory()
        defer { directory.remove() }
        try directory.write("personas/alice.toml", """
            name = "alicia"
            character = "You are Alice."
            """)
        let file = try directory.write("bridge.toml", """
            [platforms.irc]
            enabled = false

            [[channels]]
            platform = "irc"
            channel = "#tavern"
            personas = ["alicia"]
            """)
        let result = ConfigLoader(environment: ["OPENROUTER_API_KEY": "k"]).load(configPath: file)
        #expect(!result.hasErrors)
        #expect(result.configuration != nil)
        #expect(result.diagnostics.count == 2)
        #expect(result.diagnostics.allSatisfy { $0.severity == .warning })
        #expect(result.diagnostics.contains { $0.file.hasSuffix("alice.toml") && $0.keyPath == "name" && $0.line == 1 })
        #expect(result.diagnostics.contains { $0.keyPath == "channels[0].platform" && $0.line == 5 && $0.message.contains("disabled") })
    }

    @Test("two persona files with the same name are an error at the second file's name line")
    func duplicatePersonaNames() throws {
        let directory = try TempConfigDirectory()
        defer { directory.remove() }
        try directory.write("personas/alice.toml", TempConfigDirectory.persona("alice"))
        try directory.write("personas/zed.toml", "# copy\ncharacter = \"Also Alice.\"\nname = \"alice\"\n")
        let file = try directory.write("bridge.toml", "")
        let result = ConfigLoader(environment: ["OPENROUTER_API_KEY": "k"]).load(configPath: file)
        let problem = try #require(result.diagnostics.first { $0.message.contains("duplicate persona name") })
        #expect(problem.file == directory.path + "/personas/zed.toml")
        #expect(problem.line == 3)
        #expect(problem.hint?.contains("alice.toml") == true)
        #expect(result.configuration == nil)
    }
}

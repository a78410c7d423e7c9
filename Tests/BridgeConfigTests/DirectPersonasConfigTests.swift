import BridgeConfig
import Foundation
import Testing

@Suite("dm_personas: who users may talk to in direct messages")
struct DirectPersonasConfigTests {
    @Test("known general personas load; unknown or mature names are errors at their key")
    func check() throws {
        let directory = try TempConfigDirectory()
        defer { directory.remove() }
        try directory.write("personas/vesper.toml", "character = \"A noir femme fatale.\"\ncontent_rating = \"mature\"")
        try directory.write("personas/bard.toml", "character = \"A bard.\"")
        try directory.write("personas/smith.toml", "character = \"A smith.\"")
        func load(_ discord: String, irc: String = "[]") throws -> ConfigLoadResult {
            let file = try directory.write("bridge.toml", """
                [platforms.discord]
                enabled = false
                dm_personas = \(discord)
                [platforms.irc]
                enabled = false
                dm_personas = \(irc)
                """)
            return ConfigLoader(environment: ["OPENROUTER_API_KEY": "k"]).load(configPath: file)
        }
        let good = try load(#"["smith", "bard"]"#, irc: #"["bard"]"#)
        #expect(good.diagnostics.filter { $0.severity == .error }.isEmpty, "\(good.diagnostics)")
        #expect(good.configuration?.platforms["discord"]?.dmPersonas == ["smith", "bard"])
        #expect(good.configuration?.platforms["irc"]?.dmPersonas == ["bard"])

        let unknown = try load(#"["bard", "nobody"]"#)
        #expect(unknown.configuration == nil)
        let problem = unknown.diagnostics.first { $0.keyPath == "platforms.discord.dm_personas" }
        #expect(problem?.severity == .error)
        #expect(problem?.message == "unknown persona \"nobody\" in dm_personas")
        #expect(problem?.hint?.contains("bard, smith, vesper") == true)

        let mature = try load(#"["vesper"]"#)
        #expect(mature.configuration == nil)
        #expect(mature.diagnostics.contains { $0.keyPath == "platforms.discord.dm_personas" && $0.message.contains("mature persona \"vesper\"") })

        let typed = try load(#""bard""#)
        #expect(typed.configuration == nil, "dm_personas is a list of names")
    }
}

import BridgeConfig
import Foundation
import Testing

@Suite("Content ratings: mature personas and where they may be bound")
struct ContentRatingConfigTests {
    @Test("content_rating is general by default, mature when asked, and anything else is an error")
    func parsing() {
        let loader = ConfigLoader(environment: [:])
        let plain = loader.parsePersona(source: #"character = "A bard.""#, file: "/tmp/bard.toml")
        #expect(plain.persona?.contentRating == nil && plain.persona?.isMature == false)
        let mature = loader.parsePersona(source: "character = \"A noir femme fatale.\"\ncontent_rating = \"mature\"", file: "/tmp/vesper.toml")
        #expect(mature.persona?.contentRating == .mature && mature.persona?.isMature == true)
        #expect(mature.diagnostics.isEmpty)
        let general = loader.parsePersona(source: "character = \"A bard.\"\ncontent_rating = \"General\"", file: "/tmp/bard.toml")
        #expect(general.persona?.contentRating == .general)

        let wrong = loader.parsePersona(source: "character = \"x\"\ncontent_rating = \"adult\"", file: "/tmp/x.toml")
        #expect(wrong.persona == nil)
        let problem = wrong.diagnostics.first { $0.keyPath == "content_rating" }
        #expect(problem?.severity == .error)
        #expect(problem?.message == "unknown content_rating \"adult\"")
        #expect(problem?.hint?.contains("\"general\"") == true && problem?.hint?.contains("\"mature\"") == true)
        #expect(problem?.line == 2)

        let typed = loader.parsePersona(source: "character = \"x\"\ncontent_rating = 18", file: "/tmp/x.toml")
        #expect(typed.persona == nil)
    }

    @Test("the rating survives the TOML a persona is exported as")
    func tomlRoundTrip() throws {
        var persona = Persona(name: "vesper", character: "A noir femme fatale.")
        persona.contentRating = .mature
        let reloaded = ConfigLoader(environment: [:]).parsePersona(source: persona.tomlText(), file: "/tmp/vesper.toml")
        #expect(reloaded.persona?.contentRating == .mature)
    }

    @Test("a mature persona bound outside mature channels is an error on IRC and Matrix and a warning on Discord")
    func bindings() throws {
        let directory = try TempConfigDirectory()
        defer { directory.remove() }
        try directory.write("personas/vesper.toml", "character = \"A noir femme fatale.\"\ncontent_rating = \"mature\"")
        try directory.write("personas/bard.toml", "character = \"A bard.\"")
        func load(_ channels: String) throws -> ConfigLoadResult {
            let file = try directory.write("bridge.toml", """
                [platforms.irc]
                enabled = false
                mature_channels = ["#After-Dark"]
                [platforms.matrix]
                enabled = false
                mature_channels = ["!adults:example.org"]
                \(channels)
                """)
            return ConfigLoader(environment: ["OPENROUTER_API_KEY": "k"]).load(configPath: file)
        }
        func mature(_ result: ConfigLoadResult) -> [ConfigDiagnostic] { result.diagnostics.filter { $0.message.contains("mature") } }

        let allowed = try load("""
            [[channels]]
            platform = "irc"
            channel = "#after-dark"
            personas = ["vesper", "bard"]
            [[channels]]
            platform = "matrix"
            channel = "!adults:example.org"
            personas = ["vesper"]
            [[channels]]
            platform = "irc"
            channel = "#lobby"
            personas = ["bard"]
            """)
        #expect(mature(allowed).isEmpty, "\(mature(allowed))")
        #expect(allowed.configuration != nil)

        let refused = try load("""
            [[channels]]
            platform = "irc"
            channel = "#lobby"
            personas = ["bard", "vesper"]
            [[channels]]
            platform = "matrix"
            channel = "!family:example.org"
            personas = ["vesper"]
            """)
        #expect(refused.configuration == nil)
        let errors = mature(refused)
        #expect(errors.count == 2)
        #expect(errors.allSatisfy { $0.severity == .error })
        #expect(errors.first?.message == "mature persona vesper bound to irc channel '#lobby', which is not listed as a mature channel")
        #expect(errors.first?.hint?.contains("[platforms.irc] mature_channels") == true)
        #expect(errors.first?.keyPath == "channels[0].personas")
        #expect(errors.first?.line == 7, "the line of the binding's [[channels]] header")
        #expect(errors.last?.message.contains("matrix channel '!family:example.org'") == true)

        let discord = try load("""
            [[channels]]
            platform = "discord"
            channel = "900000000000000302"
            personas = ["vesper"]
            """)
        let warnings = mature(discord)
        #expect(warnings.count == 1)
        #expect(warnings.first?.severity == .warning)
        #expect(warnings.first?.message.contains("only while Discord marks it age-restricted") == true)

        let console = try load("""
            [[channels]]
            platform = "console"
            channel = "demo"
            personas = ["vesper"]
            """)
        #expect(mature(console).first?.severity == .error)
        #expect(mature(console).first?.message.contains("console has no age-restricted channels") == true)
    }
}

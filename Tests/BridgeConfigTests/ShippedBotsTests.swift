import BridgeConfig
import Foundation
import PBTestSupport
import Testing

@Suite("Shipped Bots/ files")
struct ShippedBotsTests {
    @Test("Bots/demo.toml loads with zero diagnostics and binds all three personas")
    func demoLoadsClean() throws {
        let loader = ConfigLoader(environment: ["OPENROUTER_API_KEY": "sk-or-test-demo"])
        let result = loader.load(configPath: RepoPaths.bots.appendingPathComponent("demo.toml").path)
        #expect(result.diagnostics == [], "\(checkReport(result.diagnostics))")
        let configuration = try #require(result.configuration)
        #expect(configuration.model.provider == .openrouter)
        #expect(configuration.model.apiKey?.reveal() == "sk-or-test-demo")
        #expect(configuration.storage.path == RepoPaths.bots.appendingPathComponent("state/persona-bridge.sqlite").standardizedFileURL.path)
        #expect(configuration.enabledPlatforms == ["console"])
        let binding = try #require(configuration.binding(platform: "console", channel: "demo"))
        #expect(binding.personas == ["marta", "juniper", "rook"])
        #expect(configuration.defaults.commandPrefix == "!pb")
        #expect(configuration.isAdmin(platform: "console", userID: "you"))
    }

    @Test("every shipped persona loads with zero diagnostics and is well formed")
    func personasLoadClean() throws {
        let directory = RepoPaths.bots.appendingPathComponent("personas").path
        let files = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".toml") }.sorted()
        #expect(files.count >= 3)
        var displayNames: Set<String> = []
        for file in files {
            let result = ConfigLoader(environment: [:]).loadPersona(path: directory + "/" + file)
            #expect(result.diagnostics == [], "\(file): \(checkReport(result.diagnostics))")
            let persona = try #require(result.persona)
            #expect(persona.name + ".toml" == file)
            #expect(persona.character.count > 400, "\(file) character text is too thin")
            #expect((2...3).contains(persona.examples.count))
            #expect(persona.greeting != nil)
            #expect(persona.userSystemTemplate?.contains("{{people}}") == true)
            #expect(persona.actionMarker != nil)
            #expect(persona.model.temperature != nil)
            displayNames.insert(persona.displayName)
        }
        #expect(displayNames.count == files.count)
    }
}

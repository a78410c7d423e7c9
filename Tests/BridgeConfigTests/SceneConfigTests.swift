import BridgeConfig
import Foundation
import Testing

@Suite("Group scene keys of [[channels]]")
struct SceneConfigTests {
    let environment = ["OPENROUTER_API_KEY": "sk-or-test"]

    func load(_ channel: String, personas: [String] = ["alice", "bob"]) throws -> (ConfigLoadResult, TempConfigDirectory) {
        let directory = try TempConfigDirectory()
        for name in ["alice", "bob"] { try directory.write("personas/\(name).toml", TempConfigDirectory.persona(name)) }
        let list = personas.map { "\"\($0)\"" }.joined(separator: ", ")
        let file = try directory.write("bridge.toml", """
            [model]
            provider = "openrouter"

            [platforms.console]
            enabled = true

            [[channels]]
            platform = "console"
            channel = "demo"
            personas = [\(list)]
            \(channel)
            """)
        return (ConfigLoader(environment: environment).load(configPath: file), directory)
    }

    @Test func validSceneKeysAreRead() throws {
        let (result, directory) = try load("""
            activation = "Pooled"
            allow_self_responses = true
            group_prompt = "join"
            group_nudge = "[Only {{char}} now.]"
            """)
        defer { directory.remove() }
        #expect(result.diagnostics.filter { $0.severity == .error }.isEmpty, "\(result.diagnostics)")
        let scene = try #require(result.configuration?.channels.first?.sceneSettings)
        #expect(scene == SceneSettings(activation: .pooled, allowSelfResponses: true, groupPrompt: .join, groupNudge: "[Only {{char}} now.]"))
    }

    @Test func defaultsAreSillyTavernsWithNoActivation() throws {
        let (result, directory) = try load("")
        defer { directory.remove() }
        let scene = try #require(result.configuration?.channels.first?.sceneSettings)
        #expect(scene.activation == nil)
        #expect(scene.groupPrompt == .swap)
        #expect(scene.groupNudge == "[Write the next reply only as {{char}}.]")
        #expect(!scene.allowSelfResponses)
    }

    @Test func badValuesAreReportedAtTheirLineWithAHint() throws {
        let (result, directory) = try load("""
            activation = "naturel"
            group_prompt = "merge"
            allow_self_responses = "yes"
            """)
        defer { directory.remove() }
        let activation = try #require(result.diagnostics.first { $0.keyPath == "channels[0].activation" })
        #expect(activation.severity == .error)
        #expect(activation.message.contains("unknown activation 'naturel'"))
        #expect(activation.hint == "did you mean 'natural'?")
        #expect(activation.line == 11)
        let prompt = try #require(result.diagnostics.first { $0.keyPath == "channels[0].group_prompt" })
        #expect(prompt.hint == "use one of: swap, join")
        #expect(result.diagnostics.contains { $0.keyPath == "channels[0].allow_self_responses" })
        #expect(result.configuration == nil)
    }

    @Test func activationOnOnePersonaIsAWarning() throws {
        let (result, directory) = try load("activation = \"list\"", personas: ["alice"])
        defer { directory.remove() }
        let warning = try #require(result.diagnostics.first { $0.keyPath == "channels[0].activation" })
        #expect(warning.severity == .warning)
        #expect(result.configuration?.channels.first?.sceneSettings.activation == .list)
    }
}

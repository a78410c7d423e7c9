import BridgeConfig
import Foundation
import Testing

@Suite("Linked scenes ([[scenes]])")
struct LinkedSceneConfigTests {
    let environment = ["OPENROUTER_API_KEY": "sk-or-test", "IRC_KEY": "sekrit", "DTOKEN": "d", "MTOKEN": "m"]

    func load(_ body: String) throws -> ConfigLoadResult {
        let directory = try TempConfigDirectory()
        defer { directory.remove() }
        for name in ["alice", "bob"] { try directory.write("personas/\(name).toml", TempConfigDirectory.persona(name)) }
        let file = try directory.write("bridge.toml", """
            [model]
            provider = "openrouter"

            [platforms.discord]
            enabled = true
            token = "${DTOKEN}"

            [platforms.irc]
            enabled = true
            host = "irc.example.org"
            nick = "pb"

            [platforms.matrix]
            enabled = true
            homeserver_url = "https://matrix.example.org"
            user_id = "@pb:example.org"
            access_token = "${MTOKEN}"

            \(body)
            """)
        return ConfigLoader(environment: environment).load(configPath: file)
    }

    static let harbour = """
        [[scenes]]
        name = "harbour"
        personas = ["alice", "bob"]
        activation = "natural"
        channels = [
          {platform = "discord", server = "42", channel = "1001"},
          {platform = "irc", channel = "#harbour", key = "${IRC_KEY}"},
          {platform = "matrix", channel = "!room:example.org"},
        ]
        """

    func errors(_ result: ConfigLoadResult) -> [ConfigDiagnostic] { result.diagnostics.filter { $0.severity == .error } }

    @Test func aSceneIsReadWithItsChannelsPersonasAndSettings() throws {
        let result = try load(Self.harbour + "\nrelay_humans = true\n[scenes.trigger]\nmode = \"mention\"\n")
        #expect(errors(result).isEmpty, "\(result.diagnostics)")
        let configuration = try #require(result.configuration)
        let scene = try #require(configuration.scenes.first)
        #expect(scene.name == "harbour")
        #expect(scene.personas == ["alice", "bob"])
        #expect(scene.relayHumans)
        #expect(scene.trigger.mode == .mentionOnly)
        #expect(scene.sceneSettings.activation == .natural)
        #expect(scene.channels == [
            LinkedScene.Channel(platform: "discord", server: "42", channel: "1001"),
            LinkedScene.Channel(platform: "irc", channel: "#harbour", key: "sekrit"),
            LinkedScene.Channel(platform: "matrix", channel: "!room:example.org"),
        ])
        #expect(scene.line == 19)
        // The adapters see linked channels as bindings (IRC joins #harbour with its key).
        let irc = try #require(configuration.bindings(platform: "irc").first)
        #expect(irc.channel == "#harbour" && irc.key == "sekrit" && irc.personas == ["alice", "bob"] && irc.linkedScene == "harbour")
        #expect(configuration.binding(platform: "discord", server: "42", channel: "1001")?.linkedScene == "harbour")
        #expect(configuration.channels.isEmpty)
    }

    @Test func relayHumansIsOffByDefault() throws {
        let result = try load(Self.harbour)
        #expect(try #require(result.configuration?.scenes.first).relayHumans == false)
    }

    @Test func aChannelBoundAloneAndLinkedIsRejected() throws {
        let result = try load("""
            [[channels]]
            platform = "irc"
            channel = "#harbour"
            personas = ["alice"]

            """ + Self.harbour)
        #expect(result.configuration == nil)
        let problem = try #require(errors(result).first { $0.message.contains("bound alone") })
        #expect(problem.message.contains("irc channel '#harbour'") && problem.message.contains("scene 'harbour'"))
        #expect(problem.message.contains("[[channels]] at line 19"))
        #expect(problem.keyPath == "scenes[0].channels[1]")
        #expect(problem.line == 27, "the scene's channels key")
    }

    @Test func aSceneLinkingOneChannelTwiceIsRejected() throws {
        let result = try load("""
            [[scenes]]
            name = "harbour"
            personas = ["alice"]
            channels = [{platform = "irc", channel = "#harbour"}, {platform = "discord", channel = "5"}, {platform = "irc", channel = "#harbour"}]
            """)
        #expect(result.configuration == nil)
        let problem = try #require(errors(result).first { $0.message.contains("twice") })
        #expect(problem.message == "scene 'harbour' links irc channel '#harbour' twice")
        #expect(problem.keyPath == "scenes[0].channels[2]")
        #expect(problem.line == 22)
    }

    @Test func aChannelInTwoScenesIsRejected() throws {
        let result = try load(Self.harbour + """

            [[scenes]]
            name = "docks"
            personas = ["bob"]
            channels = [{platform = "matrix", channel = "!room:example.org"}, {platform = "irc", channel = "#docks"}]
            """)
        #expect(result.configuration == nil)
        let problem = try #require(errors(result).first { $0.message.contains("linked into scene 'harbour'") })
        #expect(problem.message.contains("and scene 'docks'"))
        #expect(problem.keyPath == "scenes[1].channels[0]")
    }

    @Test func unknownPlatformsAndMissingPartsAreNamed() throws {
        let result = try load("""
            [[scenes]]
            name = "harbour"
            personas = ["alice", "carol"]
            channels = [{platform = "discrod", channel = "1"}, {platform = "irc"}, {platform = "irc", channel = "#h", nick = "x"}]
            """)
        #expect(result.configuration == nil)
        let all = errors(result)
        #expect(all.contains { $0.message == "unknown platform 'discrod'" && $0.hint == "did you mean 'discord'?"
            && $0.keyPath == "scenes[0].channels[0].platform" })
        #expect(all.contains { $0.message == "linked channel has no 'channel'" && $0.keyPath == "scenes[0].channels[1]" })
        #expect(all.contains { $0.message.contains("scene 'harbour': persona 'carol' not found") })
        #expect(result.diagnostics.contains { $0.keyPath == "scenes[0].channels[2].nick" })
    }

    @Test func aSceneWithoutChannelsOrNameIsRejected() throws {
        let result = try load("""
            [[scenes]]
            personas = ["alice"]
            channels = []

            [[scenes]]
            name = "lonely"
            personas = ["alice"]
            """)
        #expect(result.configuration == nil)
        let all = errors(result)
        #expect(all.contains { $0.message == "linked scene has no 'name'" && $0.keyPath == "scenes[0]" })
        #expect(all.contains { $0.message == "this scene links no channels" })
        #expect(all.contains { $0.message == "scene 'lonely' has no 'channels'" && $0.keyPath == "scenes[1]" })
    }

    @Test func aBindingOrLinkToAPlatformThatNeverStartsIsWarnedAbout() throws {
        let result = try load("""
            [platforms.console]
            enabled = false

            [[channels]]
            platform = "console"
            channel = "lobby"
            personas = ["alice"]

            [[scenes]]
            name = "dock"
            personas = ["alice"]
            channels = [
              {platform = "discord", server = "42", channel = "2001"},
              {platform = "jsonl", channel = "feed"},
            ]
            """)
        let warnings = result.diagnostics.filter { $0.severity == .warning }
        #expect(warnings.contains { $0.message == "binding for console, which is disabled" && $0.keyPath == "channels[0].platform"
                && $0.hint == "set enabled = true in [platforms.console] or remove this binding" })
        #expect(warnings.contains { $0.message == "scene 'dock' links jsonl, but there is no [platforms.jsonl] section"
                && $0.hint == "add [platforms.jsonl] so the adapter starts" })
        #expect(errors(result).isEmpty)
    }
}

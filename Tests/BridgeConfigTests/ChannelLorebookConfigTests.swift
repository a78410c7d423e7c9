import BridgeConfig
import Foundation
import PBTestSupport
import Testing

@Suite("Channel lorebooks and avatars in the config")
struct ChannelLorebookConfigTests {
    static func config(_ directory: TempConfigDirectory, lorebooks: String, platform: String = "console") throws -> String {
        try directory.write("bridge.toml", """
            [model]
            provider = "openrouter"
            [platforms.\(platform)]
            [[channels]]
            platform = "\(platform)"
            channel = "demo"
            personas = ["alice"]
            lorebooks = \(lorebooks)
            """)
    }

    @Test("[[channels]] lorebooks load from the personas directory; an unknown name is an error naming the path")
    func channelLorebooks() throws {
        let directory = try TempConfigDirectory()
        defer { directory.remove() }
        try directory.write("personas/alice.toml", TempConfigDirectory.persona("alice"))
        let book = RepoPaths.root.appendingPathComponent("Tests/Corpus/lorebooks/harbour-town.lorebook.json")
        try directory.write("personas/harbour-town.lore.json", try String(contentsOf: book, encoding: .utf8))
        let loader = ConfigLoader(environment: ["OPENROUTER_API_KEY": "k"])

        let good = loader.load(configPath: try Self.config(directory, lorebooks: #"["harbour-town"]"#))
        let configuration = try #require(good.configuration, "\(good.diagnostics)")
        #expect(configuration.channels.first?.lorebooks == ["harbour-town"])
        #expect(configuration.lorebooks["harbour-town"]?.entries.count == 40)

        let bad = loader.load(configPath: try Self.config(directory, lorebooks: #"["harbour-town", "nowhere"]"#))
        #expect(bad.configuration == nil)
        #expect(bad.diagnostics.contains {
            $0.severity == .error && $0.keyPath == "channels[0].lorebooks[1]" && $0.message.contains("lorebook 'nowhere' not found")
                && $0.message.contains("nowhere.lore.json") && $0.hint?.contains("harbour-town") == true
        }, "\(bad.diagnostics)")
    }

    @Test("check warns when a card image cannot be a persona's avatar on a bound platform")
    func avatarWarnings() throws {
        let directory = try TempConfigDirectory()
        defer { directory.remove() }
        try directory.write("personas/alice.toml", TempConfigDirectory.persona("alice"))
        try directory.write("personas/alice.png", "not really a png")
        let loader = ConfigLoader(environment: ["OPENROUTER_API_KEY": "k", "DISCORD_TOKEN": "t"])
        let result = loader.load(configPath: try Self.config(directory, lorebooks: "[]", platform: "discord"))
        #expect(result.diagnostics.contains {
            $0.severity == .warning && $0.keyPath == "channels[0].personas" && $0.message.contains("no avatar_url")
        }, "\(result.diagnostics)")
        #expect(ConfigLoader.avatarProblems(.init(name: "alice", avatarURL: "https://example.org/a.png", character: "x"),
                                            platform: "discord", directory: directory.path + "/personas").isEmpty)
        #expect(ConfigLoader.avatarProblems(.init(name: "alice", character: "x"), platform: "irc",
                                            directory: directory.path + "/personas").count == 1)
    }
}

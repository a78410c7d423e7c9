@testable import BridgeConfig
import Foundation
import Testing

@Suite("[platforms.*] relays: relay bots whose messages carry other people's words")
struct RelayConfigTests {
    /// Loads a config whose IRC section ends with `ircRelays` (other platforms fixed and valid).
    func load(_ ircRelays: String) throws -> (ConfigLoadResult, Int) {
        let directory = try TempConfigDirectory()
        defer { directory.remove() }
        try directory.write("personas/aria.toml", TempConfigDirectory.persona("aria"))
        let text = """
            [platforms.discord]
            enabled = false
            relays = [{user = "112233445566778899", format = "discord-webhook"}]
            [platforms.matrix]
            enabled = false
            relays = [{user = "@matterbridge:example.org", format = "matterbridge"}]
            [platforms.console]
            enabled = false
            relays = [{user = "relay", pattern = '^(?<nick>\\w+): (?<text>.*)$'}]
            [platforms.irc]
            enabled = false
            relays = \(ircRelays)
            """
        let file = try directory.write("bridge.toml", text)
        let line = text.split(separator: "\n", omittingEmptySubsequences: false).firstIndex { $0.hasPrefix("relays = ") && $0.contains(ircRelays) }
        return (ConfigLoader(environment: ["OPENROUTER_API_KEY": "k"]).load(configPath: file), (line ?? -1) + 1)
    }

    @Test("built-in formats and own patterns load on every platform")
    func good() throws {
        let (result, _) = try load(#"[{user = "matterbridge", format = "matterbridge"}, {user = "account:relay", pattern = '^\[(?<net>\w+)\] (?<nick>\S+): (?<text>.*)$'}]"#)
        #expect(!result.hasErrors && !result.diagnostics.contains { $0.keyPath.contains("relays") }, "\(result.diagnostics)")
        let platforms = try #require(result.configuration?.platforms)
        let irc = platforms["irc"]?.relays ?? []
        #expect(irc.map(\.user) == ["matterbridge", "account:relay"])
        #expect(irc.first?.format == .matterbridge)
        #expect(irc.first?.source == RelayFormat.matterbridge.source)
        #expect(irc.last?.source == .text(pattern: #"^\[(?<net>\w+)\] (?<nick>\S+): (?<text>.*)$"#))
        #expect(irc.last?.format == nil)
        #expect(platforms["discord"]?.relays == [RelaySettings(user: "112233445566778899", format: .discordWebhook)])
        if case .authorName = platforms["discord"]?.relays.first?.source {} else { Issue.record("discord-webhook reads the name") }
        #expect(platforms["matrix"]?.relays.first?.user == "@matterbridge:example.org")
        #expect(platforms["console"]?.relays.first?.pattern == #"^(?<nick>\w+): (?<text>.*)$"#)
    }

    @Test("the built-in patterns compile and name their groups")
    func builtIns() {
        #expect(ConfigLoader.relayPatternProblem(RelayFormat.matterbridge.source.patternText) == nil)
        let webhook = try? Regex(RelayFormat.discordWebhook.source.patternText)
        #expect(webhook?.contains(captureNamed: "nick") == true)
        for format in RelayFormat.allCases {
            #expect(!ConfigLoader.hasNestedQuantifier(format.source.patternText), "\(format)")
        }
    }

    @Test("a pattern without both groups, or that does not compile, is an error at its entry, on the relays line")
    func badPatterns() throws {
        let (noText, line) = try load(#"[{user = "mb", pattern = "^<(?<nick>[^>]+)> (.*)$"}]"#)
        #expect(noText.configuration == nil)
        let problem = noText.diagnostics.first { $0.keyPath == "platforms.irc.relays[0].pattern" }
        #expect(problem?.severity == .error)
        #expect(problem?.message == "relay pattern has no named group (?<text>…)", "\(noText.diagnostics)")
        #expect(problem?.line == line)

        let (broken, _) = try load(#"[{user = "mb", pattern = "^<(?<nick>[^>]+> (?<text>.*)$"}]"#)
        #expect(broken.configuration == nil)
        #expect(broken.diagnostics.contains { $0.keyPath == "platforms.irc.relays[0].pattern" && $0.message.hasPrefix("relay pattern does not compile") },
                "\(broken.diagnostics)")

        let long = String(repeating: "a", count: 600)
        let (tooLong, _) = try load(#"[{user = "mb", pattern = "(?<nick>x)(?<text>"# + long + #")"}]"#)
        #expect(tooLong.diagnostics.contains { $0.message == "relay pattern is longer than 512 characters" })
    }

    @Test("entries need a user and exactly one of pattern or format; unknown formats and keys are named")
    func badEntries() throws {
        let (noUser, _) = try load(#"[{format = "matterbridge"}]"#)
        #expect(noUser.configuration == nil)
        #expect(noUser.diagnostics.contains { $0.keyPath == "platforms.irc.relays[0].user" })

        let (both, _) = try load(#"[{user = "mb", format = "matterbridge", pattern = "^(?<nick>x)(?<text>y)$"}]"#)
        #expect(both.diagnostics.contains { $0.keyPath == "platforms.irc.relays[0]" && $0.message.contains("exactly one of") })
        let (neither, _) = try load(#"[{user = "mb"}]"#)
        #expect(neither.configuration == nil)

        let (typo, _) = try load(#"[{user = "mb", format = "matterbrige"}]"#)
        let format = typo.diagnostics.first { $0.keyPath == "platforms.irc.relays[0].format" }
        #expect(format?.message == "unknown relay format 'matterbrige'")
        #expect(format?.hint == "did you mean 'matterbridge'?")

        let (unknownKey, _) = try load(#"[{user = "mb", format = "matterbridge", nick = "x"}]"#)
        #expect(unknownKey.diagnostics.contains { $0.keyPath == "platforms.irc.relays[0].nick" && $0.severity == .error })

        let (notList, _) = try load(#""matterbridge""#)
        #expect(notList.diagnostics.contains { $0.keyPath == "platforms.irc.relays" && $0.message.contains("found string") })

        let (twice, _) = try load(#"[{user = "mb", format = "matterbridge"}, {user = "mb", format = "discord-webhook"}]"#)
        #expect(twice.diagnostics.contains { $0.keyPath == "platforms.irc.relays[1].user" && $0.severity == .warning })
        #expect(twice.configuration?.platforms["irc"]?.relays.count == 1)
    }

    @Test("a pattern that repeats a repeated group loads with a warning")
    func nestedQuantifier() throws {
        let (result, _) = try load(#"[{user = "mb", pattern = "^<(?<nick>(\\w+)+)> (?<text>.*)$"}]"#)
        #expect(result.configuration?.platforms["irc"]?.relays.count == 1, "\(result.diagnostics)")
        #expect(result.diagnostics.contains { $0.severity == .warning && $0.keyPath == "platforms.irc.relays[0].pattern" })
        #expect(ConfigLoader.hasNestedQuantifier("(a+)+b"))
        #expect(ConfigLoader.hasNestedQuantifier("((ab)*c)*"))
        #expect(!ConfigLoader.hasNestedQuantifier("^<(?<nick>[^>]+)> (?<text>.*)$"))
        #expect(!ConfigLoader.hasNestedQuantifier(#"^\((a+)\)$"#))
    }
}

extension RelaySettings.Source {
    /// The pattern text, whichever part it reads.
    fileprivate var patternText: String {
        switch self {
        case .text(let pattern), .authorName(let pattern): pattern
        }
    }
}

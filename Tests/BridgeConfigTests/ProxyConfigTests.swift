import BridgeConfig
import Foundation
import Testing

@Suite("[platforms.discord] proxies: proxy_wait_ms, pluralkit_api, proxy_channels")
struct ProxyConfigTests {
    func load(_ lines: String, in directory: TempConfigDirectory) throws -> ConfigLoadResult {
        let file = try directory.write("bridge.toml", """
            [platforms.discord]
            enabled = false
            \(lines)
            """)
        return ConfigLoader(environment: ["OPENROUTER_API_KEY": "k"]).load(configPath: file)
    }

    @Test("defaults: a 1,500 ms wait, PluralKit's public API, no configured channels")
    func defaults() throws {
        let directory = try TempConfigDirectory()
        defer { directory.remove() }
        let result = try load("", in: directory)
        let discord = try #require(result.configuration?.platforms["discord"], "\(result.diagnostics)")
        #expect(discord.proxyWaitMilliseconds == 1_500)
        #expect(discord.pluralKitAPI == "https://api.pluralkit.me")
        #expect(discord.proxyChannels.isEmpty)
    }

    @Test("configured values load; a trailing slash on the API is dropped; 0 turns the wait off")
    func configured() throws {
        let directory = try TempConfigDirectory()
        defer { directory.remove() }
        let result = try load("""
            proxy_wait_ms = 0
            pluralkit_api = "http://127.0.0.1:8080/pk/"
            proxy_channels = ["900000000000000301"]
            """, in: directory)
        let discord = try #require(result.configuration?.platforms["discord"], "\(result.diagnostics)")
        #expect(discord.proxyWaitMilliseconds == 0)
        #expect(discord.pluralKitAPI == "http://127.0.0.1:8080/pk")
        #expect(discord.proxyChannels == ["900000000000000301"])
    }

    @Test("check rejects a negative or over-long wait, a base URL that is not http(s), a channel that is not an id")
    func rejected() throws {
        let directory = try TempConfigDirectory()
        defer { directory.remove() }
        let cases: [(String, String, String)] = [
            ("proxy_wait_ms = -1", "platforms.discord.proxy_wait_ms", ""),
            ("proxy_wait_ms = 60000", "platforms.discord.proxy_wait_ms", "longer than 10000 ms"),
            ("proxy_wait_ms = \"slow\"", "platforms.discord.proxy_wait_ms", ""),
            ("pluralkit_api = \"api.pluralkit.me\"", "platforms.discord.pluralkit_api", "is not an http(s) URL"),
            ("pluralkit_api = \"ftp://api.pluralkit.me\"", "platforms.discord.pluralkit_api", "is not an http(s) URL"),
            ("proxy_channels = [\"#general\"]", "platforms.discord.proxy_channels", "is not a Discord channel id"),
        ]
        for (line, keyPath, message) in cases {
            let result = try load(line, in: directory)
            #expect(result.configuration == nil, "\(line) must be rejected")
            let problem = result.diagnostics.first { $0.keyPath == keyPath && $0.severity == .error }
            #expect(problem != nil, "\(line): \(result.diagnostics)")
            if !message.isEmpty { #expect(problem?.message.contains(message) == true, "\(line): \(problem?.message ?? "none")") }
        }
    }
}

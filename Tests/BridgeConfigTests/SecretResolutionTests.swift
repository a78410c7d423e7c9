import BridgeConfig
import Foundation
import Testing

@Suite("Secrets: ${ENV_VAR} and *_file, never echoed")
struct SecretResolutionTests {
    @Test("platform secrets resolve from the environment and from files (trailing newline trimmed)")
    func resolvesEnvAndFile() throws {
        let directory = try TempConfigDirectory()
        defer { directory.remove() }
        try directory.write("secrets/matrix-token", "syt_file_secret_value\n")
        let file = try directory.write("bridge.toml", """
            [platforms.discord]
            token = "${PB_TEST_DISCORD}"
            application_id = "42"

            [platforms.matrix]
            homeserver_url = "https://matrix.example.org"
            user_id = "@bot:example.org"
            access_token_file = "secrets/matrix-token"
            """)
        let loader = ConfigLoader(environment: ["PB_TEST_DISCORD": "discord-env-secret", "OPENROUTER_API_KEY": "sk-or-x"])
        let result = loader.load(configPath: file)
        #expect(result.diagnostics == [], "\(checkReport(result.diagnostics))")
        let configuration = try #require(result.configuration)
        let discord = try #require(configuration.platforms["discord"])
        #expect(discord.secret("token")?.reveal() == "discord-env-secret")
        #expect(discord.string("application_id") == "42")
        #expect(discord.values["token"] == nil)
        #expect(configuration.platforms["matrix"]?.secret("access_token")?.reveal() == "syt_file_secret_value")
        #expect("\(discord.secret("token")!)" == "<secret from env PB_TEST_DISCORD>")
        var dumped = ""
        dump(configuration, to: &dumped)
        for text in ["\(configuration)", String(reflecting: configuration), dumped] {
            #expect(!text.contains("discord-env-secret") && !text.contains("syt_file_secret_value") && !text.contains("sk-or-x"))
        }
        #expect(dumped.contains("PB_TEST_DISCORD"))
    }

    @Test("the model key comes from api_key_file when set")
    func modelKeyFromFile() throws {
        let directory = try TempConfigDirectory()
        defer { directory.remove() }
        try directory.write("key.txt", "mm-key-from-file\r\n")
        let file = try directory.write("bridge.toml", """
            [model]
            provider = "minimax"
            api_key_file = "key.txt"
            """)
        let result = ConfigLoader(environment: [:]).load(configPath: file)
        #expect(result.diagnostics == [])
        let model = try #require(result.configuration?.model)
        #expect(model.apiKey?.reveal() == "mm-key-from-file")
        #expect(model.apiKeyEnv == "MINIMAX_API_KEY")
        #expect(model.effectiveModel == "M2-her")
        #expect(model.endpointURL == "https://api.minimax.io/v1/chat/completions")
    }

    @Test("a missing environment variable is named, for the provider and for enabled platforms only")
    func missingVariableNamed() throws {
        let directory = try TempConfigDirectory()
        defer { directory.remove() }
        let file = try directory.write("bridge.toml", """
            [model]
            provider = "minimax-native"

            [platforms.discord]
            token = "${PB_MISSING_DISCORD_TOKEN}"

            [platforms.irc]
            enabled = false
            host = "irc.example.net"
            nick = "bot"
            sasl_password = "${PB_MISSING_BUT_DISABLED}"
            """)
        let result = ConfigLoader(environment: [:]).load(configPath: file)
        let model = try #require(result.diagnostics.first { $0.keyPath == "model.api_key_env" })
        #expect(model.message.contains("MINIMAX_API_KEY"))
        #expect(model.hint?.contains("export MINIMAX_API_KEY") == true)
        let discord = try #require(result.diagnostics.first { $0.keyPath == "platforms.discord.token" })
        #expect(discord.message == "environment variable PB_MISSING_DISCORD_TOKEN is not set")
        #expect(discord.line == 5)
        #expect(!result.diagnostics.contains { $0.message.contains("PB_MISSING_BUT_DISABLED") })
        #expect(result.configuration == nil)
    }

    @Test("a missing secret file is reported with its path")
    func missingSecretFile() throws {
        let directory = try TempConfigDirectory()
        defer { directory.remove() }
        let file = try directory.write("bridge.toml", """
            [platforms.irc]
            host = "irc.example.net"
            nick = "bot"
            sasl_password_file = "nope/sasl.txt"
            """)
        let result = ConfigLoader(environment: ["OPENROUTER_API_KEY": "k"]).load(configPath: file)
        let problem = try #require(result.diagnostics.first { $0.keyPath == "platforms.irc.sasl_password_file" })
        #expect(problem.line == 4)
        #expect(problem.message.contains(directory.path + "/nope/sasl.txt"))
    }

    @Test("secret values never appear in any diagnostic, even when written inline by mistake")
    func secretsNeverEchoed() throws {
        let directory = try TempConfigDirectory()
        defer { directory.remove() }
        try directory.write("token-file", "file-secret-zz9\n")
        let file = try directory.write("bridge.toml", """
            [model]
            api_key = "sk-or-inline-secret-AAA"
            temperature = 7

            [platforms.discord]
            token = "inline-discord-secret-BBB"
            token_file = "token-file"

            [platforms.irc]
            host = "irc.example.net"
            nick = "bot"
            sasl_password = "inline-irc-secret-CCC"
            server_password = 12345678

            [platforms.matrix]
            homeserver_url = "https://m"
            user_id = "@a:m"
            password = "${PB_ENV_SECRET}"
            device_id = 5
            """)
        let loader = ConfigLoader(environment: ["PB_ENV_SECRET": "env-secret-DDD", "OPENROUTER_API_KEY": "env-secret-EEE"])
        let result = loader.load(configPath: file)
        #expect(result.diagnostics.count >= 5)
        let everything = checkReport(result.diagnostics) + result.diagnostics.map { "\($0.keyPath) \($0.hint ?? "")" }.joined()
        for secret in ["sk-or-inline-secret-AAA", "inline-discord-secret-BBB", "file-secret-zz9", "inline-irc-secret-CCC",
                       "12345678", "env-secret-DDD", "env-secret-EEE"] {
            #expect(!everything.contains(secret), "diagnostics leak \(secret)")
        }
        #expect(result.diagnostics.contains { $0.keyPath == "model.api_key" })
        #expect(result.diagnostics.contains { $0.keyPath == "platforms.discord.token" && $0.message.contains("both") })
        #expect(result.diagnostics.contains { $0.keyPath == "platforms.irc.sasl_password" })
    }
}

import ArgumentParser
import BridgeConfig
import Foundation
import PlatformIRC

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `persona-bridge init`: writes a starter config for one platform, persona and channel.
struct InitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Write a config for one platform, persona and channel; asks in the terminal for what the options leave out.",
        discussion: """
            Secrets are never asked for or written: the config names the environment variable that holds each one.
            Non-interactive: persona-bridge init --platform discord --persona marta --channel 123456789012345678 --out bot.toml
            """)

    @Option(help: "discord, matrix or irc.") var platform: String?
    @Option(help: "A persona from the personas directory, e.g. marta.") var persona: String?
    @Option(help: "Import a character card (.json or .png) as the persona instead; it is written to personas/ next to the config.")
    var personaCard: String?
    @Option(help: "Where the personas live (default: Bots/personas under the current directory).") var personasDir: String?
    @Option(help: "Discord channel id, Matrix room id (!id:server) or IRC channel (#name).") var channel: String?
    @Option(help: "Discord: the server (guild) id of the channel.") var server: String?
    @Option(help: "The environment variable holding the platform secret (Discord token, Matrix token or password, IRC SASL password).")
    var secretEnv: String?
    @Option(help: "The config file to write.") var out: String?
    @Flag(help: "Overwrite an existing config (and imported persona) file.") var force = false

    @Option(help: "Model provider: openrouter, minimax, minimax-native or openai-compatible.") var provider: String?
    @Option(help: "The model's chat-completions URL (required for openai-compatible).") var modelBaseUrl: String?
    @Option(help: "The variable holding the model API key (default: the provider's usual one).") var apiKeyEnv: String?

    @Option(help: "Discord: the application id (default: asked from Discord with the token).") var applicationId: String?
    @Option(help: "Discord: the REST API base, for a proxy (default https://discord.com/api/v10).") var discordApiUrl: String?
    @Flag(help: "Discord: post as the bot instead of per-persona webhooks (no Manage Webhooks needed).") var noWebhooks = false

    @Option(help: "Matrix: the homeserver URL, e.g. https://matrix.example.org.") var homeserver: String?
    @Option(help: "Matrix: the bot's user id, e.g. @marta:example.org.") var userId: String?
    @Option(help: "Matrix: log in with an access token or a password (token, password).") var matrixLogin: String?

    @Option(help: "IRC: the server host.") var host: String?
    @Option(help: "IRC: the port (default 6697 with TLS, 6667 without).") var port: Int?
    @Flag(inversion: .prefixedNo, help: "IRC: use TLS (default on).") var tls: Bool?
    @Option(help: "IRC: the bot's nick (default: the persona's name).") var nick: String?
    @Option(help: "IRC: the SASL account; the password comes from --secret-env.") var saslAccount: String?
    @Option(help: "IRC: the variable holding the server password (PASS), for servers that require one.")
    var serverPasswordEnv: String?

    func run() async throws {
        var prompter = Prompter(interactive: isatty(STDIN_FILENO) == 1)
        let cwd = FileManager.default.currentDirectoryPath
        func absolute(_ path: String) -> String {
            URL(fileURLWithPath: path, relativeTo: URL(fileURLWithPath: cwd, isDirectory: true)).standardizedFileURL.path
        }

        let platformName = try prompter.value(platform, "Platform (discord, matrix, irc)", default: nil, option: "--platform") {
            StarterConfig.Platform(rawValue: $0.lowercased()) == nil ? "choose discord, matrix or irc" : nil
        }
        let platform = StarterConfig.Platform(rawValue: platformName.lowercased())!

        // The persona: a shipped one by name, or an imported card.
        let personasDirectory = absolute(personasDir ?? "Bots/personas")
        let shipped = ((try? FileManager.default.contentsOfDirectory(atPath: personasDirectory)) ?? [])
            .filter { $0.hasSuffix(".toml") && !$0.hasPrefix(".") }.map { String($0.dropLast(5)) }.sorted()
        var card = personaCard
        var personaName = persona
        if card == nil, personaName == nil {
            let choices = shipped.isEmpty ? "" : " (\(shipped.joined(separator: ", ")), or a path to a character card)"
            let answer = try prompter.value(nil, "Persona\(choices)", default: shipped.first, option: "--persona or --persona-card") {
                $0.isEmpty ? "name a persona or a card file" : nil
            }
            if shipped.contains(answer) { personaName = answer } else { card = answer }
        }
        let outPath = absolute(try prompter.value(out, "Write the config to", default: "persona-bridge-\(platform.rawValue).toml",
                                                  option: "--out") { $0.isEmpty ? "give a file name" : nil })
        let outDirectory = (outPath as NSString).deletingLastPathComponent
        var writes: [(path: String, data: Data)] = []
        let personasSetting: String
        if let card {
            let cardPath = absolute(card)
            guard let data = FileManager.default.contents(atPath: cardPath) else {
                throw ValidationError("cannot read the character card \(cardPath)")
            }
            // The same importer and files as `persona import`: N.toml, N.lore.json, N.png.
            let card: ImportedCharacterCard
            do {
                card = try CharacterCardImporter.importCard(data)
            } catch {
                throw ValidationError("\(cardPath) is not a character card this bridge can import: \(error.message)")
            }
            let (imported, files) = card.outputFiles()
            personaName = imported.name
            for file in files {
                writes.append(((outDirectory as NSString).appendingPathComponent("personas/\(file.fileName)"), file.data))
            }
            personasSetting = "personas"
        } else {
            guard let name = personaName, shipped.contains(name) else {
                throw ValidationError("persona '\(personaName ?? "")' is not in \(personasDirectory)"
                    + (shipped.isEmpty ? " (no *.toml there; pass --personas-dir or --persona-card)" : "; choose one of \(shipped.joined(separator: ", "))"))
            }
            personasSetting = StarterConfig.relativePath(from: outDirectory, to: personasDirectory)
        }
        let personaID = personaName ?? "persona"

        let channelValue = try prompter.value(channel, Self.channelPrompt(platform), default: nil, option: "--channel") {
            StarterConfig.channelProblem($0, platform: platform)
        }
        var config = StarterConfig(platform: platform, persona: personaID, personasDirectory: personasSetting,
                                   channel: channelValue, server: server, secretVariable: nil)
        let variableCheck: (String) -> String? = {
            StarterConfig.isVariableName($0) ? nil
                : "give the NAME of an environment variable (letters, digits, _), not the secret itself"
        }
        switch platform {
        case .discord:
            config.secretVariable = try prompter.value(secretEnv, "Environment variable holding the bot token",
                                                       default: platform.defaultSecretVariable, option: "--secret-env", check: variableCheck)
            config.applicationID = applicationId
            config.discordAPIBaseURL = discordApiUrl
            config.useWebhooks = !noWebhooks
        case .matrix:
            config.homeserverURL = try prompter.value(homeserver, "Homeserver URL", default: nil, option: "--homeserver") {
                $0.hasPrefix("https://") || $0.hasPrefix("http://") ? nil : "an http(s) URL such as https://matrix.example.org"
            }
            config.matrixUserID = try prompter.value(userId, "The bot's Matrix user id", default: nil, option: "--user-id") {
                $0.hasPrefix("@") && $0.contains(":") ? nil : "a user id such as @marta:example.org"
            }
            let login = try prompter.value(matrixLogin, "Log in with an access token or a password (token, password)",
                                           default: "token", option: "--matrix-login") {
                StarterConfig.MatrixLogin(rawValue: $0) == nil ? "answer token or password" : nil
            }
            config.matrixLogin = StarterConfig.MatrixLogin(rawValue: login)!
            config.secretVariable = try prompter.value(
                secretEnv, "Environment variable holding the \(login == "token" ? "access token" : "password")",
                default: login == "token" ? "MATRIX_ACCESS_TOKEN" : "MATRIX_PASSWORD", option: "--secret-env", check: variableCheck)
        case .irc:
            config.ircHost = try prompter.value(host, "IRC server host", default: nil, option: "--host") {
                $0.isEmpty || $0.contains(" ") ? "a host name such as irc.libera.chat" : nil
            }
            let useTLS = try tls ?? (prompter.value(nil, "Use TLS (yes, no)", default: "yes", option: "--tls") {
                ["yes", "no", "y", "n"].contains($0.lowercased()) ? nil : "answer yes or no"
            }.lowercased().hasPrefix("y"))
            config.ircTLS = useTLS
            config.ircPort = try port ?? Int(prompter.value(nil, "Port", default: useTLS ? "6697" : "6667", option: "--port") {
                Int($0).map { (1...65_535).contains($0) } == true ? nil : "a port number"
            })!
            config.ircNick = try prompter.value(nick, "The bot's nick", default: personaID, option: "--nick") {
                IRCPlatformConfiguration.isValidNick($0) ? nil : "letters, digits, -_[]\\`^{}|; not starting with a digit or -"
            }
            if let serverPasswordEnv {
                if let problem = variableCheck(serverPasswordEnv) { throw ValidationError("--server-password-env: \(problem)") }
                config.ircServerPasswordVariable = serverPasswordEnv
            }
            let account = try saslAccount ?? (prompter.interactive && secretEnv == nil
                ? prompter.value(nil, "SASL account (empty: none)", default: "", option: "--sasl-account") { _ in nil } : "")
            if !account.isEmpty {
                config.saslAccount = account
                config.secretVariable = try prompter.value(secretEnv, "Environment variable holding the SASL password",
                                                           default: platform.defaultSecretVariable, option: "--secret-env",
                                                           check: variableCheck)
            }
        }
        config.modelProvider = provider ?? "openrouter"
        config.modelBaseURL = modelBaseUrl
        config.modelKeyVariable = apiKeyEnv ?? Self.defaultKeyVariable(config.modelProvider)
        writes.insert((outPath, Data(config.render().utf8)), at: 0)

        for (path, _) in writes where FileManager.default.fileExists(atPath: path) && !force {
            print("\(path) exists; nothing was written. Pass --force to overwrite it, or choose another --out.")
            throw ExitCode(1)
        }
        for (path, data) in writes {
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent,
                                                    withIntermediateDirectories: true)
            try data.write(to: URL(fileURLWithPath: path), options: .atomic)
            print("wrote \(path)")
        }
        let shown = StarterConfig.relativePath(from: cwd, to: outPath)
        print("")
        print("Next:")
        print("  export \(config.modelKeyVariable)=…" + (config.secretVariable.map { "  \($0)=…" } ?? "")
            + (config.ircServerPasswordVariable.map { "  \($0)=…" } ?? ""))
        if platform == .discord { print("  persona-bridge discord invite --config \(shown)   # add the bot to your server") }
        print("  persona-bridge check --online --config \(shown)")
        print("  persona-bridge run --config \(shown)")
    }

    static func channelPrompt(_ platform: StarterConfig.Platform) -> String {
        switch platform {
        case .discord: "Discord channel id (Developer Mode → right-click the channel → Copy Channel ID)"
        case .matrix: "Matrix room id (starts with !; Element: Room settings → Advanced)"
        case .irc: "IRC channel (#name)"
        }
    }

    static func defaultKeyVariable(_ provider: String) -> String {
        switch provider {
        case "openrouter": "OPENROUTER_API_KEY"
        case "minimax", "minimax-native": "MINIMAX_API_KEY"
        default: "MODEL_API_KEY"
        }
    }
}

/// Asks for missing values on a terminal; without one, a missing value is an error naming its option.
struct Prompter {
    let interactive: Bool

    /// `given` when set (checked), else the answer to `question` (asked again until `check` passes).
    mutating func value(_ given: String?, _ question: String, default fallback: String?, option: String,
                        check: (String) -> String?) throws -> String {
        if let given {
            if let problem = check(given) { throw ValidationError("\(option) \(given): \(problem)") }
            return given
        }
        guard interactive else {
            if let fallback, check(fallback) == nil { return fallback }
            throw ValidationError("missing \(option) (stdin is not a terminal, so init cannot ask)")
        }
        while true {
            print(question + (fallback.map { $0.isEmpty ? "" : " [\($0)]" } ?? "") + ": ", terminator: "")
            fflush(nil)  // every stream: the prompt has no newline to flush it
            guard let line = readLine() else { throw ValidationError("input ended before \(option) was answered") }
            let answer = line.trimmingCharacters(in: .whitespaces)
            let value = answer.isEmpty ? (fallback ?? "") : answer
            if let problem = check(value) {
                print("  \(problem)")
                continue
            }
            return value
        }
    }
}

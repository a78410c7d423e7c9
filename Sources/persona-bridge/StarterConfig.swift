import BridgeConfig
import Foundation

/// What `init` writes: one platform, one persona, one channel, with the secrets named by variable, never stored.
struct StarterConfig: Hashable, Sendable {
    /// The platforms `init` can set up.
    enum Platform: String, CaseIterable, Sendable {
        case discord, matrix, irc

        /// The variable the platform's secret is read from unless the user names another.
        var defaultSecretVariable: String {
            switch self {
            case .discord: "DISCORD_TOKEN"
            case .matrix: "MATRIX_ACCESS_TOKEN"
            case .irc: "IRC_SASL_PASSWORD"
            }
        }
    }

    /// How the Matrix bot logs in.
    enum MatrixLogin: String, CaseIterable, Sendable {
        case token, password
    }

    var platform: Platform
    /// The persona to bind (its `name`).
    var persona: String
    /// `personas_dir`, relative to the config's directory when possible.
    var personasDirectory: String
    /// The channel: Discord channel id, Matrix room id, IRC channel name.
    var channel: String
    /// The Discord guild id, when given.
    var server: String?
    /// The environment variable holding the platform secret (nil: IRC without SASL).
    var secretVariable: String?

    var modelProvider = "openrouter"
    var modelBaseURL: String?
    var modelKeyVariable = "OPENROUTER_API_KEY"

    // Discord
    var applicationID: String?
    var discordAPIBaseURL: String?
    var useWebhooks = true

    // Matrix
    var homeserverURL = ""
    var matrixUserID = ""
    var matrixLogin = MatrixLogin.token

    // IRC
    var ircHost = ""
    var ircPort = 6697
    var ircTLS = true
    var ircNick = ""
    var saslAccount: String?
    /// The variable holding the IRC server password (`PASS`), for servers that require one.
    var ircServerPasswordVariable: String?

    /// Whether `name` can be an environment variable name (and so is not a pasted secret).
    static func isVariableName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, first == "_" || CharacterSet.letters.contains(first) else { return false }
        return name.unicodeScalars.allSatisfy { $0 == "_" || ($0.isASCII && CharacterSet.alphanumerics.contains($0)) }
            && name.count <= 64
    }

    /// Why `channel` cannot be a channel of `platform`, or nil when it can.
    static func channelProblem(_ channel: String, platform: Platform) -> String? {
        switch platform {
        case .discord:
            return !channel.isEmpty && channel.allSatisfy(\.isASCII) && channel.allSatisfy(\.isNumber) ? nil
                : "a Discord channel id is a number such as 123456789012345678 (Developer Mode → right-click the channel → Copy Channel ID)"
        case .matrix:
            // Room version 12 ids have no `:server` part (`!hash`); older ones do.
            return channel.hasPrefix("!") && channel.count > 1 && !channel.contains(where: \.isWhitespace) ? nil
                : "a Matrix room id starts with ! (e.g. !abcdefgh:example.org; Element: Room settings → Advanced → Internal room ID)"
        case .irc:
            return channel.first.map { "#&+!".contains($0) } == true && !channel.contains(where: { " ,\u{07}".contains($0) }) ? nil
                : "an IRC channel starts with # (e.g. #tavern) and has no spaces or commas"
        }
    }

    /// The config file's text.
    func render() -> String {
        let q = Persona.quoted
        var lines: [String] = [
            "# PersonaBridge on \(platform.rawValue), written by `persona-bridge init`. Every key is described in Bots/README.md.",
            "# Secrets are read from the environment, never from this file:",
            "#   export \(modelKeyVariable)=…" + (secretVariable.map { "   export \($0)=…" } ?? "")
                + (ircServerPasswordVariable.map { "   export \($0)=…" } ?? ""),
            "# Then: persona-bridge check --online --config FILE, then persona-bridge run --config FILE (FILE = this file).",
            "",
            "personas_dir = \(q(personasDirectory))",
            "",
            "[model]",
            "provider = \(q(modelProvider))",
        ]
        if let modelBaseURL { lines.append("base_url = \(q(modelBaseURL))") }
        lines += [
            "api_key_env = \(q(modelKeyVariable))",
            "",
            "[storage]",
            "path = \(q("state/persona-bridge-\(platform.rawValue).sqlite"))   # relative to this file",
            "",
        ]
        switch platform {
        case .discord:
            lines += [
                "[platforms.discord]",
                "token = \(q("${\(secretVariable ?? Platform.discord.defaultSecretVariable)}"))   # the bot token (Developer Portal → Bot)",
            ]
            if let applicationID { lines.append("application_id = \(q(applicationID))") }
            if let discordAPIBaseURL { lines.append("api_base_url = \(q(discordAPIBaseURL))") }
            lines += [
                "use_webhooks = \(useWebhooks)   # personas speak with their own name and avatar (needs Manage Webhooks)",
                "slash_commands = \"guild\"",
                "",
                "# [admins.discord]",
                "# users = [\"YOUR_USER_ID\"]   # may change settings everywhere, besides members with Manage Channels",
            ]
        case .matrix:
            let variable = secretVariable ?? Platform.matrix.defaultSecretVariable
            lines += [
                "[platforms.matrix]",
                "homeserver_url = \(q(homeserverURL))",
                "user_id = \(q(matrixUserID))",
                matrixLogin == .token ? "access_token = \(q("${\(variable)}"))" : "password = \(q("${\(variable)}"))",
                "invite_allowlist = [\(q(":" + (matrixUserID.split(separator: ":", maxSplits: 1).last.map(String.init) ?? "")))]"
                    + "   # who may invite the bot: users or :server",
            ]
        case .irc:
            lines += [
                "[platforms.irc]",
                "host = \(q(ircHost))",
                "port = \(ircPort)",
                "tls = \(ircTLS)",
                "nick = \(q(ircNick))",
                "alt_nicks = [\(q(ircNick + "_"))]",
            ]
            if let ircServerPasswordVariable {
                lines.append("server_password = \(q("${\(ircServerPasswordVariable)}"))")
            }
            if let saslAccount, let secretVariable {
                lines.append("sasl_account = \(q(saslAccount))")
                lines.append("sasl_password = \(q("${\(secretVariable)}"))")
            }
        }
        lines += ["", "[[channels]]", "platform = \(q(platform.rawValue))"]
        if let server { lines.append("server = \(q(server))") }
        lines += ["channel = \(q(channel))", "personas = [\(q(persona))]", ""]
        return lines.joined(separator: "\n")
    }

    /// `target` relative to `base` (both absolute directories), or `target` itself when they share nothing but `/`.
    static func relativePath(from base: String, to target: String) -> String {
        let from = URL(fileURLWithPath: base).standardizedFileURL.pathComponents
        let to = URL(fileURLWithPath: target).standardizedFileURL.pathComponents
        var common = 0
        while common < min(from.count, to.count), from[common] == to[common] { common += 1 }
        guard common > 1 else { return URL(fileURLWithPath: target).standardizedFileURL.path }
        let ups = Array(repeating: "..", count: from.count - common)
        let path = (ups + to[common...]).joined(separator: "/")
        return path.isEmpty ? "." : path
    }
}

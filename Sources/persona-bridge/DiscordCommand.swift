import ArgumentParser
import BridgeConfig
import Foundation
import HTTPTransport
import Logging
import PlatformDiscord

/// `persona-bridge discord …`: Discord helpers.
struct DiscordCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "discord", abstract: "Discord helpers: the invite link for your server.",
        subcommands: [DiscordInviteCommand.self])
}

/// `persona-bridge discord invite --config FILE`: the OAuth2 link with the permissions this config uses.
struct DiscordInviteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "invite",
        abstract: "Print the link that adds the bot to a server, asking for exactly the permissions the config uses.",
        discussion: "The application id comes from [platforms.discord] application_id, or from GET /oauth2/applications/@me with the token.")

    @OptionGroup var options: ConfigOptions

    func run() async throws {
        let logger = CLILogging.bootstrap(level: options.logLevel ?? "warning")
        let result = ConfigLoader(logger: logger).load(configPath: options.config)
        guard let configuration = result.configuration, !result.hasErrors else {
            print(checkReport(result.diagnostics, relativeTo: FileManager.default.currentDirectoryPath))
            print("\(options.config): fix the errors above, then run discord invite again.")
            throw ExitCode(1)
        }
        guard configuration.platforms["discord"] != nil else {
            print("\(options.config): there is no [platforms.discord] section; start from Bots/discord.toml or `persona-bridge init --platform discord`.")
            throw ExitCode(1)
        }
        let settings: DiscordPlatformConfiguration
        do { settings = try DiscordPlatformConfiguration.from(configuration) } catch {
            print("\(options.config): error: \(error)")
            throw ExitCode(1)
        }
        let applicationID: String
        let source: String
        if let configured = settings.applicationID {
            applicationID = configured
            source = "application_id in \(options.config)"
        } else {
            let section = configuration.platforms["discord"]
            let http = HTTPClient(configuration: .init(caFile: section?.string("ca_file"), verifyTLS: section?.bool("verify_tls") ?? true),
                                  logger: logger)
            defer { http.shutdown() }
            let rest = DiscordREST(token: settings.token, http: http, baseURL: settings.apiBaseURL, userAgent: settings.userAgent,
                                   maxAttempts: 2, logger: logger)
            do {
                applicationID = try await rest.currentApplication().id
            } catch let error as DiscordRESTError where error.code == .unauthorized {
                print("Discord refused the bot token (401). Copy it again from the Developer Portal (Bot → Reset Token), "
                    + "or set application_id in [platforms.discord] (General Information → Application ID).")
                throw ExitCode(1)
            } catch {
                print("Cannot ask Discord for the application id: \(error). Set application_id in [platforms.discord] "
                    + "(Developer Portal → General Information → Application ID).")
                throw ExitCode(1)
            }
            source = "GET /oauth2/applications/@me with the bot token"
        }
        let invite = DiscordInvite(applicationID: applicationID, useWebhooks: settings.useWebhooks)
        print(Self.render(invite, applicationSource: source, messageContent: settings.gateway.intents.contains(.messageContent)))
    }

    /// The link and one line per scope and permission.
    static func render(_ invite: DiscordInvite, applicationSource: String, messageContent: Bool) -> String {
        var lines = [
            "Open this link as someone with Manage Server on your Discord server, pick the server, and authorise:",
            "",
            invite.url,
            "",
            "Application id \(invite.applicationID) (from \(applicationSource)).",
            "Scopes:",
            "  bot                   the bot user that reads and answers in the bound channels",
            "  applications.commands the slash commands (/persona, /status, ...) moderators use",
            "Permissions (integer \(invite.permissionBits.rawValue)):",
        ]
        let width = invite.permissions.map(\.name.count).max() ?? 0
        for permission in invite.permissions {
            lines.append("  " + permission.name.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + permission.reason)
        }
        if messageContent {
            lines.append("")
            lines.append("Before running: Developer Portal → your application → Bot → Privileged Gateway Intents → enable Message Content.")
        }
        return lines.joined(separator: "\n")
    }
}

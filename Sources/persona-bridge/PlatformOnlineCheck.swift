import BridgeConfig
import Foundation
import HTTPTransport
import Logging
import PlatformDiscord
import PlatformIRC
import PlatformMatrix

/// One line of `check --online` for a platform: what was verified, or what is wrong and how to fix it.
struct OnlineFinding: Hashable, Sendable {
    /// How bad it is.
    enum Level: String, Sendable {
        case ok, warning, error
    }

    /// How bad it is.
    var level: Level
    /// The platform section it concerns.
    var platform: String
    /// What was found.
    var message: String
    /// What to do about it (warnings and errors).
    var fix: String?

    static func ok(_ platform: String, _ message: String) -> OnlineFinding {
        OnlineFinding(level: .ok, platform: platform, message: message)
    }

    static func error(_ platform: String, _ message: String, fix: String) -> OnlineFinding {
        OnlineFinding(level: .error, platform: platform, message: message, fix: fix)
    }

    static func warning(_ platform: String, _ message: String, fix: String) -> OnlineFinding {
        OnlineFinding(level: .warning, platform: platform, message: message, fix: fix)
    }

    /// `discord: error: the token was refused — fix: …`.
    var line: String {
        "\(platform): \(level.rawValue): \(message)" + (fix.map { " — fix: \($0)" } ?? "")
    }
}

/// `check --online` for the enabled chat platforms. Read-only: it never sends a chat message, joins nothing and
/// creates nothing on the platform (a Matrix password login is logged out again).
enum PlatformOnlineCheck {
    /// Checks every enabled platform that has an online check; one finding per line.
    static func run(_ configuration: BridgeConfiguration, configPath: String, logger: Logger) async -> [OnlineFinding] {
        var findings: [OnlineFinding] = []
        for name in configuration.enabledPlatforms {
            let section = configuration.platforms[name]
            // The section's own TLS settings, as `run` uses them.
            let http = HTTPClient(configuration: .init(caFile: section?.string("ca_file"), verifyTLS: section?.bool("verify_tls") ?? true),
                                  logger: logger)
            defer { http.shutdown() }
            switch name {
            case "discord": findings += await discord(configuration, configPath: configPath, http: http, logger: logger)
            case "matrix": findings += await matrix(configuration, http: http, logger: logger)
            case "irc": findings += await irc(configuration, logger: logger)
            default: continue
            }
        }
        return findings
    }

    // MARK: Discord

    static func discord(_ configuration: BridgeConfiguration, configPath: String, http: HTTPClient,
                        logger: Logger) async -> [OnlineFinding] {
        let p = "discord"
        let settings: DiscordPlatformConfiguration
        do { settings = try DiscordPlatformConfiguration.from(configuration) } catch {
            return [.error(p, error.message, fix: "correct [platforms.discord] (see Bots/discord.toml)")]
        }
        let section = configuration.platforms[p]
        let tokenSource = section?.secret("token")?.source ?? "the token setting"
        let rest = DiscordREST(token: settings.token, http: http, baseURL: settings.apiBaseURL, userAgent: settings.userAgent,
                               maxAttempts: 2, logger: logger)
        var findings: [OnlineFinding] = []
        let me: DiscordCurrentUser
        do { me = try await rest.currentUser() } catch let error as DiscordRESTError where error.code == .unauthorized {
            return [.error(p, "Discord refused the bot token from \(tokenSource) (401 Unauthorized)",
                           fix: "copy the token again from the Developer Portal (your application → Bot → Reset Token) "
                               + "into \(tokenSource); it is the bot token, not the client secret or public key")]
        } catch {
            return [.error(p, "cannot reach Discord at \(settings.apiBaseURL): \(error)",
                           fix: "check the network, proxy and api_base_url in [platforms.discord]")]
        }
        findings.append(.ok(p, "the token from \(tokenSource) is valid: bot \(me.username) (id \(me.id))"))

        do {
            let application = try await rest.currentApplication()
            if let configured = settings.applicationID, configured != application.id {
                findings.append(.error(p, "application_id \(configured) is not this token's application (\(application.id))",
                                       fix: "set application_id = \"\(application.id)\" or remove it from [platforms.discord]"))
            }
            if settings.gateway.intents.contains(.messageContent) {
                if application.applicationFlags.allowsMessageContent {
                    findings.append(.ok(p, "the Message Content intent is enabled for application \(application.name)"))
                } else {
                    findings.append(.error(
                        p, "the Message Content intent is not enabled for application \(application.name): the gateway "
                            + "would refuse the connection (close 4014)",
                        fix: "enable the Message Content intent in the Developer Portal (Bot → Privileged Gateway Intents), "
                            + "or leave message_content out of intents (then the bot sees only mentions and DMs)"))
                }
            }
        } catch {
            findings.append(.error(p, "cannot read the application (GET /oauth2/applications/@me): \(error)",
                                   fix: "check that the token is a bot token of an application you own"))
        }

        var guilds: [String: Result<(DiscordGuildInfo, DiscordMemberInfo), any Error>] = [:]
        for binding in configuration.bindings(platform: p) {
            let channel: DiscordChannelInfo
            do { channel = try await rest.channel(binding.channel) } catch let error as DiscordRESTError
                where error.code == .notFound || error.code == .forbidden {
                findings.append(.error(
                    p, "channel \(binding.channel) is not visible to the bot (\(error.status ?? 0) \(error.message))",
                    fix: "add the bot to that server with the link `persona-bridge discord invite --config \(configPath)` "
                        + "prints, give it View Channel in the channel, and check the channel id (Developer Mode → Copy Channel ID)"))
                continue
            } catch {
                findings.append(.error(p, "cannot read channel \(binding.channel): \(error)", fix: "try again; check the network"))
                continue
            }
            let label = "channel \(channel.name.map { "#\($0) " } ?? "")(\(channel.id))"
            guard let guildID = channel.guildID else {
                findings.append(.error(p, "\(label) is not in a server", fix: "bind a server text channel or thread id"))
                continue
            }
            if let server = binding.server, server != guildID {
                findings.append(.error(p, "\(label) belongs to server \(guildID), not \(server) as [[channels]] says",
                                       fix: "set server = \"\(guildID)\" in that [[channels]] binding (or remove it)"))
                continue
            }
            if guilds[guildID] == nil {
                do {
                    let guild = try await rest.guild(guildID)
                    let member = try await rest.member(guildID: guildID, userID: me.id)
                    guilds[guildID] = .success((guild, member))
                } catch {
                    guilds[guildID] = .failure(error)
                }
            }
            let guild: DiscordGuildInfo
            let member: DiscordMemberInfo
            switch guilds[guildID] {
            case .success(let pair)?: (guild, member) = pair
            case .failure(let error)?:
                findings.append(.error(p, "cannot read server \(guildID) or the bot's roles there: \(error)",
                                       fix: "invite the bot to the server with `persona-bridge discord invite --config \(configPath)`"))
                continue
            case nil: continue
            }
            var overwrites = channel.overwrites
            if channel.isThread, let parentID = channel.parentID {
                overwrites = (try? await rest.channel(parentID).overwrites) ?? []
            }
            let permissions = DiscordPermissions.compute(
                guildID: guildID, ownerID: guild.ownerID, userID: me.id, memberRoleIDs: member.roles,
                rolePermissions: guild.rolePermissions, overwrites: overwrites)
            let needed = DiscordInvite(applicationID: me.id, useWebhooks: false).permissions.filter {
                $0.bits != (channel.isThread ? .sendMessages : .sendMessagesInThreads)
            }
            let missing = needed.filter { !permissions.contains($0.bits) }
            if missing.isEmpty {
                findings.append(.ok(p, "\(label) in \(guild.name): the bot can "
                                    + needed.map { $0.name.lowercased() }.joined(separator: ", ")))
            } else {
                findings.append(.error(
                    p, "\(label) in \(guild.name): the bot lacks " + missing.map(\.name).joined(separator: ", "),
                    fix: "grant " + missing.map(\.name).joined(separator: " and ") + " to the bot's role (Server Settings → Roles) "
                        + "or in the channel's permissions (Edit Channel → Permissions)"))
            }
            if settings.useWebhooks, !permissions.contains(.manageWebhooks) {
                findings.append(.warning(
                    p, "\(label): no Manage Webhooks, so personas post as the bot with a name prefix instead of their own name and avatar",
                    fix: "grant Manage Webhooks to the bot's role or in the channel, or set use_webhooks = false"))
            }
        }
        return findings
    }

    // MARK: Matrix

    static func matrix(_ configuration: BridgeConfiguration, http: HTTPClient, logger: Logger) async -> [OnlineFinding] {
        let p = "matrix"
        let settings: MatrixPlatformConfiguration
        do { settings = try MatrixPlatformConfiguration(configuration) } catch {
            return [.error(p, "\(error)", fix: "correct [platforms.matrix] (see Bots/matrix.toml)")]
        }
        let section = configuration.platforms[p]
        let client = MatrixClient(homeserver: settings.homeserverURL, http: http, accessToken: settings.accessToken, logger: logger)
        var findings: [OnlineFinding] = []
        var loggedIn = false
        do {
            if let token = settings.accessToken, !token.isEmpty {
                let source = section?.secret("access_token")?.source ?? "access_token"
                do {
                    let who = try await client.whoami()
                    guard who.userID == settings.userID else {
                        return [.error(p, "the access token from \(source) belongs to \(who.userID), not \(settings.userID)",
                                       fix: "set user_id = \"\(who.userID)\" or use a token of \(settings.userID)")]
                    }
                    findings.append(.ok(p, "the access token from \(source) is valid for \(who.userID)"))
                } catch let error where error.status == 401 || error.code == .unknownToken {
                    return [.error(p, "the homeserver refused the access token from \(source) (\(error.errcode ?? "401"))",
                                   fix: "log in as the bot and copy a fresh access token (Element: Settings → Help & About → "
                                       + "Access Token) into \(source), or use password = \"${MATRIX_PASSWORD}\" instead")]
                }
            } else if let password = settings.password {
                let source = section?.secret("password")?.source ?? "password"
                do {
                    let login = try await client.login(user: settings.userID, password: password, deviceID: nil,
                                                       deviceName: "PersonaBridge check")
                    loggedIn = true
                    findings.append(.ok(p, "the password from \(source) logs in as \(login.userID)"))
                } catch let error where error.status == 403 || error.status == 401 {
                    return [.error(p, "the homeserver refused the password login for \(settings.userID) (\(error.errcode ?? "403"))",
                                   fix: "check user_id and the password in \(source); register the bot account first if it does not exist")]
                }
            }
            let joined = Set(try await client.call(.get, "/joined_rooms")["joined_rooms"]?.array?.compactMap(\.string) ?? [])
            var invited: Set<String> = []
            let unjoined = configuration.bindings(platform: p).map(\.channel).filter { !joined.contains($0) }
            if !unjoined.isEmpty {
                // Only invites: no timeline, state or presence, and no wait.
                let filter = #"{"room":{"timeline":{"limit":0},"state":{"types":[]},"ephemeral":{"types":[]},"account_data":{"types":[]}},"presence":{"types":[]},"account_data":{"types":[]}}"#
                let sync = try await client.call(.get, "/sync", query: [("filter", filter), ("timeout", "0")])
                invited = Set(sync["rooms"]?["invite"]?.object?.keys.map { $0 } ?? [])
            }
            for binding in configuration.bindings(platform: p) {
                if joined.contains(binding.channel) {
                    findings.append(.ok(p, "room \(binding.channel): joined"))
                } else if invited.contains(binding.channel) {
                    findings.append(.ok(p, "room \(binding.channel): invited; the bridge joins when it starts if the "
                                        + "inviter matches invite_allowlist"))
                } else {
                    findings.append(.error(
                        p, "room \(binding.channel): \(settings.userID) is neither joined nor invited",
                        fix: "invite \(settings.userID) from an account that invite_allowlist names (the bridge joins on invite), "
                            + "and check the room id (Element: Room settings → Advanced → Internal room ID)"))
                }
            }
        } catch {
            findings.append(.error(p, "cannot talk to the homeserver at \(settings.homeserverURL): \(error)",
                                   fix: "check homeserver_url (the client-server API base, e.g. https://matrix.example.org) and the network"))
        }
        if loggedIn { _ = try? await client.call(.post, "/logout", body: [:]) }
        return findings
    }

    // MARK: IRC

    static func irc(_ configuration: BridgeConfiguration, logger: Logger) async -> [OnlineFinding] {
        let p = "irc"
        let settings: IRCPlatformConfiguration
        do { settings = try IRCPlatformConfiguration(configuration) } catch {
            return [.error(p, "\(error)", fix: "correct [platforms.irc] (see Bots/irc.toml)")]
        }
        do {
            let outcome = try await IRCConnectionCheck.run(configuration: settings, logger: logger)
            var findings: [OnlineFinding] = [.ok(p, "registered at \(settings.host):\(settings.port) as \(outcome.nick)"
                                                 + (settings.useTLS ? " over TLS" : ""))]
            if outcome.nick != settings.nick {
                findings.append(.warning(p, "the nick \(settings.nick) is taken; the server gave \(outcome.nick)",
                                         fix: "register the nick with services or pick another nick"))
            }
            if outcome.saslConfigured {
                if outcome.saslSucceeded {
                    findings.append(.ok(p, "SASL login as \(settings.saslAccount ?? "") succeeded"))
                } else if !outcome.offeredCapabilities.contains("sasl") {
                    findings.append(.error(p, "SASL is configured but the server does not offer it",
                                           fix: "remove sasl_account/sasl_password and use nickserv_password, or connect to a server with SASL"))
                } else {
                    findings.append(.error(p, "SASL login as \(settings.saslAccount ?? "") failed",
                                           fix: "check sasl_account (the services account) and the password in sasl_password"))
                }
            }
            return findings
        } catch {
            // ngIRCd refuses a bad PASS with only `ERROR :Access denied: Bad password?`, no 464.
            let aboutPassword = error.command == "464" || (error.code == .refused && error.message.lowercased().contains("password"))
            let fix: String = switch (error.code, aboutPassword ? "464" : error.command) {
            case (.connect, _): "check host, port and tls in [platforms.irc] (TLS is usually port 6697, plain 6667)"
            case (_, "464"?):
                configuration.platforms[p]?.secret("server_password").map {
                    "the server refused the password: correct server_password (read from \($0.source))"
                } ?? "the server needs a password: set server_password = \"${IRC_SERVER_PASSWORD}\" and export it"
            case (_, "465"?): "this address is banned on the network; ask its operators"
            case (_, "432"?): "pick a nick the server accepts (letters, digits, -_[]\\`^{}|)"
            case (_, "904"?), (_, "905"?): "check sasl_account and sasl_password"
            case (.timeout, _): "check that host:port is an IRC server and whether tls should be on"
            default: "read the server's message above; check host, port, tls, nick and passwords"
            }
            return [.error(p, "IRC registration failed: \(error.message)", fix: fix)]
        }
    }
}

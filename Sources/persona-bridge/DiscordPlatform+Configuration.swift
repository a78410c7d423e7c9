import BridgeConfig
import BridgeCore
import Foundation
import HTTPTransport
import Logging
import PlatformDiscord
import SocketTransport

extension DiscordPlatformConfiguration {
    /// The adapter settings `[platforms.discord]`, the Discord bindings and admins describe.
    static func from(_ configuration: BridgeConfiguration) throws(PlatformSetupError) -> DiscordPlatformConfiguration {
        func fail(_ message: String) -> PlatformSetupError { PlatformSetupError(platform: "discord", message: message) }
        guard let section = configuration.platforms["discord"] else { throw fail("the section is missing") }
        guard let secret = section.secret("token") else {
            throw fail("the bot token is missing: add token = \"${DISCORD_TOKEN}\" (and export DISCORD_TOKEN) or token_file = \"path\"")
        }
        let token = secret.reveal().trimmingCharacters(in: .whitespacesAndNewlines)
        guard !token.isEmpty else { throw fail("the bot token from \(secret.source) is empty") }
        var intents: GatewayIntents = .bridgeDefault
        if let names = section.strings("intents") {
            intents = []
            for name in names {
                switch name.lowercased().replacingOccurrences(of: "_", with: "") {
                case "guilds": intents.insert(.guilds)
                case "guildmessages": intents.insert(.guildMessages)
                case "directmessages": intents.insert(.directMessages)
                case "messagecontent": intents.insert(.messageContent)
                case "guildmessagereactions": intents.insert(.guildMessageReactions)
                default:
                    throw fail("intents: unknown intent '\(name)'; use guilds, guild_messages, direct_messages, message_content, guild_message_reactions")
                }
            }
        }
        let shardIDs = section.values["shard_ids"]?.arrayValue?.compactMap(\.intValue) ?? []
        let shardCount = section.int("shard_count") ?? 1
        guard shardCount >= 1 else { throw fail("shard_count: must be at least 1") }
        for id in shardIDs where id < 0 || id >= shardCount {
            throw fail("shard_ids: shard \(id) is not within 0..<\(shardCount)")
        }
        guard Set(shardIDs).count == shardIDs.count else { throw fail("shard_ids: each shard id may appear once") }
        let shardID = shardIDs.first ?? 0
        let slash: SlashCommandScope
        switch section.string("slash_commands") ?? "guild" {
        case "guild": slash = .guild(section.strings("command_guilds") ?? [])
        case "global": slash = .global
        case "off": slash = .off
        case let other: throw fail("slash_commands: '\(other)' is not guild, global or off")
        }
        let webSocket = WebSocketConfiguration(caFile: section.string("ca_file"), verifyTLS: section.bool("verify_tls") ?? true)
        let gateway = DiscordGatewayConfiguration(gatewayURL: section.string("gateway_url"), intents: intents, shardID: shardID,
                                                  shardCount: shardCount, webSocket: webSocket)
        let bindings = configuration.bindings(platform: "discord").map {
            BoundChannel(channelID: $0.channel, guildID: $0.server, multiplePersonas: $0.personas.count > 1)
        }
        let admins = configuration.admins["discord"]
        let window = section.double("catch_up_window_seconds") ?? 600
        var settings = DiscordPlatformConfiguration(
            token: token, apiBaseURL: section.string("api_base_url") ?? DiscordREST.defaultBaseURL,
            userAgent: section.string("user_agent") ?? DiscordREST.defaultUserAgent, gateway: gateway,
            applicationID: section.string("application_id"), useWebhooks: section.bool("use_webhooks") ?? true,
            slashCommands: slash, catchUpWindow: .milliseconds(Int(max(0, window) * 1000)), boundChannels: bindings,
            adminUsers: Set(admins?.users ?? []), adminRoles: Set(admins?.roles ?? []))
        settings.shardIDs = shardIDs
        settings.bots = Set(section.strings("bots") ?? [])
        settings.proxyWait = .milliseconds(section.proxyWaitMilliseconds)
        settings.pluralKitAPI = section.pluralKitAPI
        settings.proxyChannels = Set(section.proxyChannels)
        let controls = DiscordControls(section.string("controls") ?? "buttons")
        if case .unknown(let other) = controls { throw fail("controls: '\(other)' is not buttons, reactions or off") }
        settings.controls = controls
        // Reaction controls need the reaction events.
        if controls == .reactions { settings.gateway.intents.insert(.guildMessageReactions) }
        return settings
    }
}

extension PlatformFactory {
    /// The Discord adapter.
    static let discord = PlatformFactory(name: "discord", validate: { _ = try DiscordPlatformConfiguration.from($0) }) {
        configuration, runtime, logger in
        var settings = try DiscordPlatformConfiguration.from(configuration)
        // `--shard-ids`/`--shard-count` (or PB_SHARD_IDS/PB_SHARD_COUNT) win over the config's shards.
        if let count = runtime.shards.shardCount {
            settings.shardIDs = runtime.shards.shardIDs
            settings.gateway.shardID = runtime.shards.shardIDs.first ?? 0
            settings.gateway.shardCount = count
        }
        let section = configuration.platforms["discord"]
        var http = runtime.http
        if section?.string("ca_file") != nil || section?.bool("verify_tls") == false {
            http = HTTPClient(configuration: .init(caFile: section?.string("ca_file"), verifyTLS: section?.bool("verify_tls") ?? true),
                              logger: logger)
        }
        let discord = DiscordPlatform(configuration: settings, http: http, store: runtime.store, logger: logger)
        return Built(platform: discord, service: discord)
    }
}

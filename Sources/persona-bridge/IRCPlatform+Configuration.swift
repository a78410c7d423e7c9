import BridgeConfig
import Foundation
import Logging
import PlatformIRC

extension IRCPlatformConfiguration {
    /// Maps `[platforms.irc]`, the IRC `[[channels]]` bindings, `[admins.irc]` and the bound personas' action
    /// markers; throws a `PlatformSetupError` naming the bad key.
    init(_ configuration: BridgeConfiguration) throws {
        func bad(_ message: String) -> PlatformSetupError { PlatformSetupError(platform: "irc", message: message) }
        guard let section = configuration.platforms["irc"] else {
            throw bad("the section is missing; add [platforms.irc] with host and nick")
        }
        guard let host = section.string("host")?.trimmingCharacters(in: .whitespaces), !host.isEmpty else {
            throw bad("'host' is missing or empty; add host = \"irc.example.net\"")
        }
        guard let nick = section.string("nick"), Self.isValidNick(nick) else {
            throw bad("'nick' is missing or not a valid IRC nick (letters, digits, -_[]\\`^{}|; not starting with a digit or -)")
        }
        let alternatives = section.strings("alt_nicks") ?? []
        if let wrong = alternatives.first(where: { !Self.isValidNick($0) }) {
            throw bad("'alt_nicks' contains \"\(wrong)\", which is not a valid IRC nick")
        }
        let useTLS = section.bool("tls") ?? true
        let port = section.int("port") ?? (useTLS ? 6697 : 6667)
        let caFile = section.string("ca_file")
        if let caFile, !FileManager.default.isReadableFile(atPath: caFile) {
            throw bad("'ca_file' \(caFile) cannot be read")
        }
        let burst = section.int("flood_burst") ?? 4
        guard burst >= 1 else { throw bad("'flood_burst' must be at least 1 line") }
        let rate = section.double("flood_rate") ?? 0.5
        guard rate > 0, rate <= 100 else { throw bad("'flood_rate' must be above 0 and at most 100 lines per second") }
        let saslAccount = section.string("sasl_account")
        let saslPassword = section.secret("sasl_password")?.reveal()
        if (saslAccount == nil) != (saslPassword == nil) {
            throw bad("SASL needs both 'sasl_account' and 'sasl_password' (or 'sasl_password_file')")
        }
        let network = section.string("network")
        var channels: [IRCChannelJoin] = []
        for binding in configuration.bindings(platform: "irc") {
            if let server = binding.server, server != network {
                throw bad("[[channels]] \(binding.channel) names server \"\(server)\" but [platforms.irc] network is "
                    + (network.map { "\"\($0)\"" } ?? "not set") + "; set network = \"\(server)\"")
            }
            guard let first = binding.channel.first, "#&+!".contains(first), !binding.channel.contains(where: { " ,\u{07}".contains($0) })
            else { throw bad("[[channels]] channel \"\(binding.channel)\" is not an IRC channel name (it starts with #)") }
            if !channels.contains(where: { $0.name.lowercased() == binding.channel.lowercased() }) {
                channels.append(IRCChannelJoin(name: binding.channel, key: binding.key))
            }
        }
        let marker = configuration.bindings(platform: "irc").lazy.flatMap(\.personas)
            .compactMap { configuration.personas[$0]?.actionMarker }.first
        self.init(
            host: host, port: port, useTLS: useTLS, verifyTLS: section.bool("verify_tls") ?? true, caFile: caFile,
            serverPassword: section.secret("server_password")?.reveal(), nick: nick, alternativeNicks: alternatives,
            username: section.string("username"), realname: section.string("realname") ?? "PersonaBridge",
            channels: channels, floodBurst: burst, floodInterval: .milliseconds(Int((1000 / rate).rounded())),
            halfOpsAreModerators: section.bool("halfops_are_moderators") ?? false,
            adminAccounts: configuration.admins["irc"]?.accounts ?? [], actionMarker: marker,
            rejoinAfterKick: (section.bool("rejoin_on_kick") ?? true) ? .seconds(10) : nil, networkID: network,
            saslAccount: saslAccount, saslPassword: saslPassword,
            nickServPassword: section.secret("nickserv_password")?.reveal(),
            sendActions: section.bool("ctcp_action") ?? true)
        bots = section.strings("bots") ?? []
    }

    /// RFC 2812 nick characters, plus a length sanity bound.
    static func isValidNick(_ nick: String) -> Bool {
        guard let first = nick.unicodeScalars.first, nick.utf8.count <= 64, !("0"..."9").contains(first), first != "-"
        else { return false }
        let allowed = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_[]\\`^{}|"
        return nick.unicodeScalars.allSatisfy { allowed.unicodeScalars.contains($0) }
    }
}

extension PlatformFactory {
    /// The IRC adapter for `[platforms.irc]`.
    static let irc = PlatformFactory(name: "irc", validate: { _ = try IRCPlatformConfiguration($0) }) {
        configuration, _, logger in
        let settings = try IRCPlatformConfiguration(configuration)
        if settings.channels.isEmpty {
            logger.warning("irc: no [[channels]] with platform = \"irc\"; the bot joins nothing and only answers private messages")
        }
        let platform = IRCPlatform(configuration: settings, logger: logger)
        return Built(platform: platform, service: platform)
    }
}

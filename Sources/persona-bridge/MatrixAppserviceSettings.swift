import BridgeConfig
import BridgeCore
import Foundation
import PlatformMatrix

/// `[platforms.matrix]` in appservice mode, before the tokens are read: what the registration command and the
/// adapter both need.
struct MatrixAppserviceSettings: Sendable {
    var id: String
    var homeserverURL: String
    var serverName: String
    var listenAddress: String
    var listenPort: Int
    var url: String
    var userPrefix: String
    var senderLocalpart: String
    var asTokenPath: String
    var hsTokenPath: String
    var registrationPath: String
    var rateLimited: Bool
    var maxTransactionBytes: Int

    /// Whether `[platforms.matrix]` asks for appservice mode (client mode is the default).
    static func isAppservice(_ configuration: BridgeConfiguration) -> Bool {
        configuration.platforms["matrix"]?.string("mode") == "appservice"
    }

    /// Reads and checks the section; throws a `PlatformSetupError` naming the bad key.
    init(_ configuration: BridgeConfiguration) throws {
        guard let section = configuration.platforms["matrix"] else {
            throw PlatformSetupError(platform: "matrix", message: "the section is missing")
        }
        func fail(_ message: String) -> PlatformSetupError { PlatformSetupError(platform: "matrix", message: message) }
        guard let url = section.string("homeserver_url"), url.hasPrefix("http://") || url.hasPrefix("https://") else {
            throw fail("homeserver_url must be an http(s) URL, e.g. homeserver_url = \"https://matrix.example.org\"")
        }
        guard let server = section.string("server_name"), !server.isEmpty, !server.contains("/"), !server.contains("@") else {
            throw fail("appservice mode needs server_name = \"example.org\" (the part after ':' in your users' IDs)")
        }
        let prefix = section.string("user_prefix") ?? "pb_"
        let localpartCharacters = Set("abcdefghijklmnopqrstuvwxyz0123456789._=-/")
        guard !prefix.isEmpty, prefix.allSatisfy(localpartCharacters.contains) else {
            throw fail("user_prefix must be non-empty and use only a-z 0-9 . _ = - / (e.g. \"pb_\")")
        }
        let sender = section.string("sender_localpart") ?? "personabridge"
        guard !sender.isEmpty, sender.allSatisfy(localpartCharacters.contains) else {
            throw fail("sender_localpart must use only a-z 0-9 . _ = - /")
        }
        guard !sender.hasPrefix(prefix) else {
            throw fail("sender_localpart \"\(sender)\" must not start with user_prefix \"\(prefix)\" (that namespace is the personas')")
        }
        let address = section.string("listen_address") ?? "127.0.0.1"
        let port = section.int("listen_port") ?? 29340
        guard (0...65535).contains(port) else { throw fail("listen_port must be 0…65535") }
        let listenURL = section.string("appservice_url") ?? "http://\(address.contains(":") ? "[\(address)]" : address):\(port)"
        guard listenURL.hasPrefix("http://") || listenURL.hasPrefix("https://") else {
            throw fail("appservice_url must be an http(s) URL the homeserver can reach, e.g. \"http://127.0.0.1:29340\"")
        }
        let maxBytes = section.int("max_transaction_bytes") ?? 8 * 1024 * 1024
        guard maxBytes >= 64 * 1024 else { throw fail("max_transaction_bytes must be at least 65536") }
        let base = (configuration.filePath as NSString).deletingLastPathComponent
        func absolute(_ path: String) -> String {
            let expanded = (path as NSString).expandingTildeInPath
            return expanded.hasPrefix("/") ? expanded : ((base as NSString).appendingPathComponent(expanded) as NSString).standardizingPath
        }
        id = section.string("appservice_id") ?? "persona-bridge"
        homeserverURL = url
        serverName = server
        listenAddress = address
        listenPort = port
        self.url = listenURL
        userPrefix = prefix
        senderLocalpart = sender
        asTokenPath = absolute(section.string("as_token_path") ?? "matrix-appservice/as_token")
        hsTokenPath = absolute(section.string("hs_token_path") ?? "matrix-appservice/hs_token")
        registrationPath = absolute(section.string("registration_path") ?? "matrix-appservice/registration.yaml")
        rateLimited = section.bool("rate_limited") ?? true
        maxTransactionBytes = maxBytes
    }

    /// The registration for these settings and tokens.
    func registration(_ tokens: MatrixAppserviceTokens) -> MatrixRegistration {
        MatrixRegistration(id: id, url: url, asToken: tokens.asToken, hsToken: tokens.hsToken, senderLocalpart: senderLocalpart,
                           userPrefix: userPrefix, serverName: serverName, disableRateLimits: !rateLimited)
    }

    /// The adapter's appservice configuration: the stored tokens and every persona (avatar paths made absolute).
    func adapterConfiguration(_ configuration: BridgeConfiguration) throws -> MatrixAppserviceConfiguration {
        let tokens: MatrixAppserviceTokens
        do {
            tokens = try MatrixAppserviceTokens.load(asTokenPath: asTokenPath, hsTokenPath: hsTokenPath)
        } catch {
            throw PlatformSetupError(platform: "matrix", message: "\(error)")
        }
        let base = (configuration.filePath as NSString).deletingLastPathComponent
        let personas = configuration.personas.values.sorted { $0.name < $1.name }.map { persona in
            var avatar = persona.avatarURL
            if let path = avatar, !path.contains("://"), !path.hasPrefix("/") {
                avatar = ((base as NSString).appendingPathComponent(path) as NSString).standardizingPath
            }
            return PersonaIdentity(name: persona.name, displayName: persona.displayName, avatarURL: avatar)
        }
        var result = MatrixAppserviceConfiguration(
            id: id, serverName: serverName, listenAddress: listenAddress, listenPort: listenPort, url: url, userPrefix: userPrefix,
            senderLocalpart: senderLocalpart, asToken: tokens.asToken, hsToken: tokens.hsToken, maxTransactionBytes: maxTransactionBytes,
            personas: personas)
        for binding in configuration.allBindings where binding.platform == "matrix" {
            result.boundRooms[binding.channel, default: []] += binding.personas
        }
        return result
    }

    /// What `check` says about the Matrix mode in use.
    static func explanation(_ configuration: BridgeConfiguration) -> [String] {
        guard configuration.platforms["matrix"]?.enabled == true else { return [] }
        guard isAppservice(configuration) else {
            return ["matrix: client mode — one bot account logs in and every persona speaks from it (works on any homeserver). "
                + "For one Matrix user per persona, set mode = \"appservice\" (needs access to the homeserver's config)."]
        }
        guard let settings = try? MatrixAppserviceSettings(configuration) else { return [] }
        var lines = ["matrix: appservice mode — each persona speaks as @\(settings.userPrefix)<name>:\(settings.serverName); "
            + "the homeserver pushes events to \(settings.url) (listening on \(settings.listenAddress):\(settings.listenPort))."]
        let manager = FileManager.default
        if manager.fileExists(atPath: settings.asTokenPath) && manager.fileExists(atPath: settings.hsTokenPath) {
            lines.append("matrix: tokens present; the registration is \(settings.registrationPath) — add it to the homeserver's "
                + "app_service_config_files and restart the homeserver.")
        } else {
            lines.append("matrix: no tokens yet — run `persona-bridge matrix registration --config FILE`, then add the file it writes "
                + "to the homeserver's app_service_config_files and restart the homeserver.")
        }
        if !settings.rateLimited { lines.append("matrix: rate_limited = false — the registration exempts the personas from rate limits.") }
        return lines
    }
}

import BridgeConfig
import BridgeCore
import HTTPTransport
import Logging
import PlatformMatrix

extension MatrixPlatformConfiguration {
    /// The adapter settings `[platforms.matrix]` describes; throws a `PlatformSetupError` naming the bad key.
    init(_ configuration: BridgeConfiguration, readTokens: Bool = true) throws {
        if MatrixAppserviceSettings.isAppservice(configuration) {
            self = try Self.appservice(configuration, readTokens: readTokens)
            return
        }
        if let mode = configuration.platforms["matrix"]?.string("mode"), mode != "client" {
            throw PlatformSetupError(platform: "matrix", message: "mode must be \"client\" (the default) or \"appservice\", not \"\(mode)\"")
        }
        guard let section = configuration.platforms["matrix"] else {
            throw PlatformSetupError(platform: "matrix", message: "the section is missing")
        }
        guard let url = section.string("homeserver_url"), url.hasPrefix("http://") || url.hasPrefix("https://") else {
            throw PlatformSetupError(platform: "matrix",
                                     message: "homeserver_url must be an http(s) URL, e.g. homeserver_url = \"https://matrix.example.org\"")
        }
        guard let user = section.string("user_id"), user.hasPrefix("@"), user.contains(":") else {
            throw PlatformSetupError(platform: "matrix", message: "user_id must look like \"@bot:example.org\"")
        }
        let token = section.secret("access_token")?.reveal()
        let password = section.secret("password")?.reveal()
        guard token != nil || password != nil else {
            throw PlatformSetupError(platform: "matrix",
                                     message: "set access_token = \"${MATRIX_ACCESS_TOKEN}\" or password = \"${MATRIX_PASSWORD}\" (or their _file variants)")
        }
        let level = section.int("moderator_power_level") ?? 50
        let cap = section.int("max_edits_per_reply") ?? 30
        guard cap >= 1 else { throw PlatformSetupError(platform: "matrix", message: "max_edits_per_reply must be at least 1") }
        self.init(homeserverURL: url, userID: user, accessToken: token, password: password,
                  deviceID: section.string("device_id"), deviceName: section.string("device_name") ?? "PersonaBridge",
                  inviteAllowlist: section.strings("invite_allowlist") ?? [], moderatorPowerLevel: level,
                  maxEditsPerReply: cap, admins: Set(configuration.admins["matrix"]?.users ?? []),
                  catchUpWindow: .milliseconds(Int(configuration.defaults.catchUpWindowSeconds * 1000)))
        bots = section.strings("bots") ?? []
    }

    /// Appservice mode: the sender user with the `as_token` (read from its file unless `readTokens` is false, for `check`).
    private static func appservice(_ configuration: BridgeConfiguration, readTokens: Bool) throws -> MatrixPlatformConfiguration {
        let settings = try MatrixAppserviceSettings(configuration)
        let section = configuration.platforms["matrix"]
        let level = section?.int("moderator_power_level") ?? 50
        let cap = section?.int("max_edits_per_reply") ?? 30
        guard cap >= 1 else { throw PlatformSetupError(platform: "matrix", message: "max_edits_per_reply must be at least 1") }
        let appservice = readTokens
            ? try settings.adapterConfiguration(configuration)
            : MatrixAppserviceConfiguration(serverName: settings.serverName, senderLocalpart: settings.senderLocalpart, asToken: "", hsToken: "")
        var result = MatrixPlatformConfiguration(
            homeserverURL: settings.homeserverURL, userID: appservice.senderUserID, accessToken: appservice.asToken,
            inviteAllowlist: section?.strings("invite_allowlist") ?? [], moderatorPowerLevel: level, maxEditsPerReply: cap,
            admins: Set(configuration.admins["matrix"]?.users ?? []),
            catchUpWindow: .milliseconds(Int(configuration.defaults.catchUpWindowSeconds * 1000)))
        result.bots = section?.strings("bots") ?? []
        result.appservice = appservice
        return result
    }
}

extension PlatformFactory {
    /// The Matrix adapter: `[platforms.matrix]`, state in the bridge's store.
    static let matrix = PlatformFactory(name: "matrix", validate: { _ = try MatrixPlatformConfiguration($0, readTokens: false) }) {
        configuration, runtime, logger in
        let settings = try MatrixPlatformConfiguration(configuration)
        let section = configuration.platforms["matrix"]
        var http = runtime.http
        if section?.string("ca_file") != nil || section?.bool("verify_tls") == false {
            http = HTTPClient(configuration: .init(caFile: section?.string("ca_file"), verifyTLS: section?.bool("verify_tls") ?? true),
                              logger: logger)
        }
        let platform = MatrixPlatform(configuration: settings, http: http, store: runtime.store, logger: logger)
        return Built(platform: platform, service: platform)
    }
}

import BridgeConfig
import Storage

/// What `check` and `run` say about the key that seals secrets at rest.
enum StateKeyCheck {
    /// The sealer from the environment, and a warning when secrets would be stored in plain text; throws on a bad key.
    static func evaluate(_ configuration: BridgeConfiguration, environment: [String: String]) throws(StateSealerError)
        -> (sealer: StateSealer?, warning: String?)
    {
        let sealer = try StateSealer.fromEnvironment(environment)
        let storesSecrets = configuration.enabledPlatforms.contains { $0 == "matrix" || $0 == "discord" }
        guard sealer == nil, storesSecrets else { return (sealer, nil) }
        return (nil, "warning: neither PB_STATE_KEY nor PB_STATE_KEY_FILE is set, so the Matrix access token and "
            + "Discord webhook tokens are stored unencrypted in the state store; set one (e.g. `openssl rand -base64 32`)")
    }
}

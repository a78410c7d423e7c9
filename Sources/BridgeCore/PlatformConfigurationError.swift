/// An error after which an adapter stops for good: retrying cannot help until the configuration changes
/// (a rejected token, disallowed intents, a refused account). `run` exits with status 78 (EX_CONFIG) after it,
/// so a supervisor does not restart into the same failure.
public protocol PlatformConfigurationError: Error {
    /// Whether this particular error stops the adapter for good.
    var stopsForGood: Bool { get }
}

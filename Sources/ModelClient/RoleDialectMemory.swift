import Synchronization

/// Remembers, per provider and endpoint, that the extra roles had to be folded (the `auto` dialect).
///
/// Lives for the process (`shared`); tests may pass their own instance.
public final class RoleDialectMemory: Sendable {
    /// The process-wide memory used by default.
    public static let shared = RoleDialectMemory()

    private let state = Mutex<Set<String>>([])

    /// Creates an empty memory.
    public init() {}

    /// Whether requests to this endpoint must be folded.
    public func requiresFolding(provider: ModelProvider, endpoint: String) -> Bool {
        state.withLock { $0.contains(Self.key(provider, endpoint)) }
    }

    /// Records that this endpoint rejected a role.
    public func rememberFolding(provider: ModelProvider, endpoint: String) {
        _ = state.withLock { $0.insert(Self.key(provider, endpoint)) }
    }

    /// Forgets every endpoint.
    public func reset() {
        state.withLock { $0.removeAll() }
    }

    private static func key(_ provider: ModelProvider, _ endpoint: String) -> String {
        "\(provider.rawValue) \(endpoint)"
    }
}

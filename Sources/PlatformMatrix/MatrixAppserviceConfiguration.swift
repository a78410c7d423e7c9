import BridgeCore

/// Application-service mode: the homeserver pushes transactions to the bridge's listener and every persona
/// speaks as its own Matrix user in the namespace the registration claims.
public struct MatrixAppserviceConfiguration: Sendable {
    /// The registration's `id`.
    public var id: String
    /// The homeserver's server name (the part after `:` in user IDs).
    public var serverName: String
    /// Interface the transactions listener binds.
    public var listenAddress: String
    /// Port the listener binds (0 picks a free one).
    public var listenPort: Int
    /// The URL the homeserver reaches the listener at (the registration's `url`).
    public var url: String
    /// Localpart prefix of persona users, e.g. `pb_` for `@pb_aria:server`.
    public var userPrefix: String
    /// Localpart of the appservice's own user (the registration's `sender_localpart`).
    public var senderLocalpart: String
    /// Token the bridge presents to the homeserver.
    public var asToken: String
    /// Token the homeserver presents to the bridge.
    public var hsToken: String
    /// Largest transaction body accepted.
    public var maxTransactionBytes: Int
    /// The personas that get users, with their names and avatars.
    public var personas: [PersonaIdentity]
    /// Rooms bound in the config (`[[channels]]`) and their personas, who join them at start.
    public var boundRooms: [String: [String]] = [:]

    /// Creates a configuration.
    public init(id: String = "persona-bridge", serverName: String, listenAddress: String = "127.0.0.1", listenPort: Int = 29340,
                url: String? = nil, userPrefix: String = "pb_", senderLocalpart: String = "personabridge", asToken: String,
                hsToken: String, maxTransactionBytes: Int = 8 * 1024 * 1024, personas: [PersonaIdentity] = []) {
        self.id = id
        self.serverName = serverName
        self.listenAddress = listenAddress
        self.listenPort = listenPort
        self.url = url ?? "http://\(listenAddress):\(listenPort)"
        self.userPrefix = userPrefix
        self.senderLocalpart = senderLocalpart
        self.asToken = asToken
        self.hsToken = hsToken
        self.maxTransactionBytes = maxTransactionBytes
        self.personas = personas
    }

    /// The appservice's own user ID.
    public var senderUserID: String { "@\(senderLocalpart):\(serverName)" }

    /// The Matrix user a persona speaks as: `@<prefix><name>:server`, the name reduced to the characters
    /// user IDs allow (lower-case letters, digits, `._=-/`).
    public func userID(forPersona name: String) -> String {
        "@\(userPrefix)\(Self.localpartSafe(name)):\(serverName)"
    }

    /// The persona whose user `userID` is, when it is one of ours.
    public func persona(forUser userID: String) -> PersonaIdentity? {
        personas.first { self.userID(forPersona: $0.name) == userID }
    }

    /// Whether `userID` lies in the namespace (`@<prefix>…:server`).
    public func inNamespace(_ userID: String) -> Bool {
        userID.hasPrefix("@" + userPrefix) && userID.hasSuffix(":" + serverName)
    }

    static func localpartSafe(_ name: String) -> String {
        let allowed = Set("abcdefghijklmnopqrstuvwxyz0123456789._=-/")
        let mapped = name.lowercased().map { allowed.contains($0) ? $0 : "_" }
        return String(mapped)
    }
}

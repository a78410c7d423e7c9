/// A channel webhook the bridge posts persona replies through. Its token is a credential: never printed.
struct DiscordWebhook: Hashable, Sendable, CustomStringConvertible {
    /// Snowflake id.
    var id: String
    /// The execute token.
    var token: String

    /// The id only.
    var description: String { "webhook \(id)" }

    /// The form kept in the store (sealed at rest when a state key is set).
    var stored: String { id + " " + token }

    /// Reads the stored form; nil when it is not one.
    init?(stored: String) {
        let parts = stored.split(separator: " ", maxSplits: 1).map(String.init)
        guard parts.count == 2 else { return nil }
        self.init(id: parts[0], token: parts[1])
    }

    /// Creates a webhook value.
    init(id: String, token: String) {
        self.id = id
        self.token = token
    }
}

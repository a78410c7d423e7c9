/// A `[[servers]]` table: settings for every channel of one server (a Discord guild, an IRC network), or of a whole
/// platform when `server` is left out (Matrix rooms belong to no server).
public struct ServerSettings: Hashable, Sendable {
    /// Platform name.
    public var platform: String
    /// The server id the platform reports (a Discord guild id, an IRC `network_id`); nil for every channel.
    public var server: String?
    /// Lorebooks (`N.lore.json` stems) active in every channel of the server, before the channel's own.
    public var lorebooks: [String]
    /// Line of the `[[servers]]` header in the config file.
    public var line: Int?

    /// Creates server settings.
    public init(platform: String, server: String? = nil, lorebooks: [String] = [], line: Int? = nil) {
        self.platform = platform
        self.server = server
        self.lorebooks = lorebooks
        self.line = line
    }

    /// Whether these settings cover a channel on `platform` in `server`.
    public func covers(platform: String, server: String?) -> Bool {
        self.platform == platform && (self.server == nil || self.server == server)
    }
}

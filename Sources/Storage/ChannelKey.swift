/// Identifies one chat channel across platforms: platform name, optional server, and channel id.
///
/// All three parts form the identity, so adapters must spell them the same way every time
/// (for example IRC puts the network in `serverID`; a Discord DM has no server).
/// An empty `serverID` is normalised to `nil`.
public struct ChannelKey: Hashable, Sendable, CustomStringConvertible {
    /// Platform name, e.g. `discord`, `irc`, `matrix`, `console`.
    public var platform: String
    /// Server scope (Discord guild, IRC network, Matrix homeserver), or `nil` when the channel has none.
    public var serverID: String?
    /// The platform's channel or room id.
    public var channelID: String

    /// Creates a key; an empty `serverID` is treated as `nil`.
    public init(platform: String, serverID: String? = nil, channelID: String) {
        self.platform = platform
        self.serverID = (serverID?.isEmpty ?? true) ? nil : serverID
        self.channelID = channelID
    }

    /// `platform/server/channel`, or `platform/channel` without a server.
    public var description: String {
        if let serverID { return "\(platform)/\(serverID)/\(channelID)" }
        return "\(platform)/\(channelID)"
    }
}

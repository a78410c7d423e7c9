/// Everything the IRC adapter needs to connect, register, join and behave on one network.
public struct IRCPlatformConfiguration: Sendable, CustomStringConvertible {
    /// Server host name or address.
    public var host: String
    /// Server port.
    public var port: Int
    /// Whether to use TLS.
    public var useTLS: Bool
    /// Whether to verify the server certificate (on by default).
    public var verifyTLS: Bool
    /// CA bundle for verification, when not the system one.
    public var caFile: String?
    /// Server password (`PASS`), never logged.
    public var serverPassword: String?
    /// SASL PLAIN account; SASL is used when this and `saslPassword` are set and the server offers PLAIN.
    public var saslAccount: String?
    /// SASL PLAIN password, never logged.
    public var saslPassword: String?
    /// Disconnect instead of continuing unauthenticated when SASL fails or is not offered.
    public var requireSASL: Bool
    /// Password for `NickServ IDENTIFY` after 001 when SASL did not succeed; never logged.
    public var nickServPassword: String?
    /// Wanted nick.
    public var nick: String
    /// Nicks to try, in order, when the wanted one is taken at connect.
    public var alternativeNicks: [String]
    /// User name for `USER`.
    public var username: String
    /// Real name for `USER`.
    public var realname: String
    /// Channels to join, with optional keys.
    public var channels: [IRCChannelJoin]
    /// Lines that may be sent at once before pacing starts.
    public var floodBurst: Int
    /// Time one flood token takes to refill.
    public var floodInterval: Duration
    /// Lines that may wait per channel.
    public var queueCapacity: Int
    /// Whether half-ops (`%`) count as moderators.
    public var halfOpsAreModerators: Bool
    /// Nicks always treated as moderators.
    public var adminNicks: [String]
    /// Services accounts (from `account-tag`) always treated as moderators.
    public var adminAccounts: [String]
    /// Nicks of known bots (`[platforms.irc] bots`), besides those the server marks with the IRCv3 `bot` tag.
    public var bots: [String] = []
    /// Lines starting with this marker go out as CTCP ACTION.
    public var actionMarker: String?
    /// Seconds a message's `server-time` may lag the newest one seen before it counts as replayed history.
    public var replayMaximumLag: Double
    /// Whether `*waves*` and action-marker lines go out as CTCP ACTION at all.
    public var sendActions: Bool
    /// First reconnect delay; doubles after each failed attempt.
    public var reconnectInitialDelay: Duration
    /// Longest reconnect delay.
    public var reconnectMaxDelay: Duration
    /// How often to try taking the configured nick back while using an alternative.
    public var nickRegainInterval: Duration
    /// Delay before rejoining a channel we were kicked from; nil means stay out.
    public var rejoinAfterKick: Duration?
    /// Network id used as `ChannelRef.serverID`.
    public var networkID: String?
    /// Text of the CTCP VERSION answer.
    public var versionReply: String

    /// Creates a configuration with defaults that are safe on common networks.
    public init(host: String, port: Int = 6697, useTLS: Bool = true, verifyTLS: Bool = true, caFile: String? = nil,
                serverPassword: String? = nil, nick: String, alternativeNicks: [String] = [], username: String? = nil,
                realname: String = "PersonaBridge", channels: [IRCChannelJoin] = [], floodBurst: Int = 4,
                floodInterval: Duration = .seconds(2), queueCapacity: Int = 64, halfOpsAreModerators: Bool = false,
                adminNicks: [String] = [], adminAccounts: [String] = [], actionMarker: String? = nil,
                reconnectInitialDelay: Duration = .seconds(2), reconnectMaxDelay: Duration = .seconds(300),
                nickRegainInterval: Duration = .seconds(60), rejoinAfterKick: Duration? = .seconds(10), networkID: String? = nil,
                versionReply: String = "PersonaBridge", saslAccount: String? = nil, saslPassword: String? = nil,
                requireSASL: Bool = false, nickServPassword: String? = nil, sendActions: Bool = true,
                replayMaximumLag: Double = 30) {
        self.replayMaximumLag = replayMaximumLag
        self.sendActions = sendActions
        self.saslAccount = saslAccount
        self.saslPassword = saslPassword
        self.requireSASL = requireSASL
        self.nickServPassword = nickServPassword
        self.host = host
        self.port = port
        self.useTLS = useTLS
        self.verifyTLS = verifyTLS
        self.caFile = caFile
        self.serverPassword = serverPassword
        self.nick = nick
        self.alternativeNicks = alternativeNicks
        self.username = username ?? nick
        self.realname = realname
        self.channels = channels
        self.floodBurst = floodBurst
        self.floodInterval = floodInterval
        self.queueCapacity = queueCapacity
        self.halfOpsAreModerators = halfOpsAreModerators
        self.adminNicks = adminNicks
        self.adminAccounts = adminAccounts
        self.actionMarker = actionMarker
        self.reconnectInitialDelay = reconnectInitialDelay
        self.reconnectMaxDelay = reconnectMaxDelay
        self.nickRegainInterval = nickRegainInterval
        self.rejoinAfterKick = rejoinAfterKick
        self.networkID = networkID
        self.versionReply = versionReply
    }

    /// A summary for logs, without any secret.
    public var description: String {
        "IRCPlatformConfiguration(\(host):\(port) tls=\(useTLS) nick=\(nick) channels=\(channels.map(\.name)) "
            + "sasl=\(saslAccount != nil) nickserv=\(nickServPassword != nil) password=\(serverPassword != nil))"
    }
}

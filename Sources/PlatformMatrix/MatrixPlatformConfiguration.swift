import BridgeCore

/// Everything the Matrix adapter needs, already resolved from the config file (secrets revealed).
public struct MatrixPlatformConfiguration: Sendable {
    /// Homeserver base URL, e.g. `https://matrix.example.org`.
    public var homeserverURL: String
    /// The bot's user ID, `@bot:example.org`.
    public var userID: String
    /// A ready access token (used instead of a password login).
    public var accessToken: String?
    /// Password for `m.login.password`.
    public var password: String?
    /// Device ID to log in with; otherwise the stored one, else the server picks one (then stored).
    public var deviceID: String?
    /// Name for a new device.
    public var deviceName: String
    /// Who may invite the bot: user IDs, `:server` suffixes, or `*`; empty means nobody (invites are declined).
    public var inviteAllowlist: [String]
    /// Power level from which a user is a moderator.
    public var moderatorPowerLevel: Int
    /// Most edit events per streamed message; the last one always carries the complete text.
    public var maxEditsPerReply: Int
    /// After the cap, how long no new text must arrive before the complete text is sent.
    public var heldEditQuietTime: Duration
    /// Config admins (user IDs), moderators everywhere.
    public var admins: Set<String>
    /// Catch-up policy after a restart: messages sent while the bot was down and younger than this are handled
    /// (and may be answered); older ones are skipped.
    public var catchUpWindow: Duration
    /// `/sync` long-poll timeout.
    public var syncTimeout: Duration
    /// Edit pacing before any 429.
    public var initialEditBudget: EditBudget
    /// First delay after a failed sync.
    public var retryInitialDelay: Duration
    /// Largest delay between failed syncs.
    public var retryMaxDelay: Duration
    /// Known bots (`[platforms.matrix] bots`): user IDs, or prefixes ending in `*` for an appservice namespace
    /// such as `@irc_*`; their messages count as bot turns and never run commands.
    public var bots: [String] = []
    /// Application-service mode (`mode = "appservice"`); `nil` is client mode.
    public var appservice: MatrixAppserviceConfiguration?

    /// Creates a configuration.
    public init(homeserverURL: String, userID: String, accessToken: String? = nil, password: String? = nil,
                deviceID: String? = nil, deviceName: String = "PersonaBridge", inviteAllowlist: [String] = [],
                moderatorPowerLevel: Int = 50, maxEditsPerReply: Int = 30, heldEditQuietTime: Duration = .milliseconds(1200),
                admins: Set<String> = [], catchUpWindow: Duration = .seconds(600), syncTimeout: Duration = .seconds(30),
                initialEditBudget: EditBudget = EditBudget(burst: 3, interval: .milliseconds(1500)),
                retryInitialDelay: Duration = .seconds(1), retryMaxDelay: Duration = .seconds(60)) {
        self.homeserverURL = homeserverURL
        self.userID = userID
        self.accessToken = accessToken
        self.password = password
        self.deviceID = deviceID
        self.deviceName = deviceName
        self.inviteAllowlist = inviteAllowlist
        self.moderatorPowerLevel = moderatorPowerLevel
        self.maxEditsPerReply = maxEditsPerReply
        self.heldEditQuietTime = heldEditQuietTime
        self.admins = admins
        self.catchUpWindow = catchUpWindow
        self.syncTimeout = syncTimeout
        self.initialEditBudget = initialEditBudget
        self.retryInitialDelay = retryInitialDelay
        self.retryMaxDelay = retryMaxDelay
    }

    /// Whether an invite from `inviter` may be accepted.
    public func allowsInvite(from inviter: String?) -> Bool {
        guard let inviter else { return false }
        let server = inviter.split(separator: ":", maxSplits: 1).dropFirst().first.map { ":" + $0 }
        return inviteAllowlist.contains { $0 == "*" || $0 == inviter || (server != nil && $0 == server) }
    }
}

/// Everything the Discord adapter needs; built by the CLI from `[platforms.discord]`.
public struct DiscordPlatformConfiguration: Sendable, CustomStringConvertible {
    /// Where slash commands are registered.
    public enum SlashCommandScope: Hashable, Sendable {
        /// Per guild (updates at once): the listed guilds, or every guild from READY when empty.
        case guild([String])
        /// Globally.
        case global
        /// Not registered.
        case off
        /// A value this build does not know; treated as `off`.
        case unknown(String)
    }

    /// A channel bound in the config: catch-up runs for these.
    public struct BoundChannel: Hashable, Sendable {
        /// Channel or thread id.
        public var channelID: String
        /// Guild id from the binding, if given.
        public var guildID: String?
        /// Whether several personas speak here (then webhooks give each its own identity).
        public var multiplePersonas: Bool

        /// Creates a bound channel.
        public init(channelID: String, guildID: String? = nil, multiplePersonas: Bool = false) {
            self.channelID = channelID
            self.guildID = guildID
            self.multiplePersonas = multiplePersonas
        }
    }

    /// Bot token (never logged; `description` leaves it out).
    public var token: String
    /// API base URL (override for tests).
    public var apiBaseURL: String
    /// `User-Agent` (Discord requires `DiscordBot (url, version)`).
    public var userAgent: String
    /// Gateway settings (URL override, intents, shard id and count).
    public var gateway: DiscordGatewayConfiguration
    /// Shard ids this process runs, one gateway each; empty means just `gateway.shardID`.
    public var shardIDs: [Int] = []
    /// Application id; READY's application id (or the bot user id) when nil.
    public var applicationID: String?
    /// Whether personas speak through channel webhooks when they have an avatar or share a channel.
    public var useWebhooks: Bool
    /// Slash command registration.
    public var slashCommands: SlashCommandScope
    /// Catch-up only answers messages younger than this.
    public var catchUpWindow: Duration
    /// Bound channels.
    public var boundChannels: [BoundChannel]
    /// Config admin user ids (also checked by the Router).
    public var adminUsers: Set<String>
    /// Config admin role ids.
    public var adminRoles: Set<String>
    /// User ids of bots Discord does not flag (user-account relays), from `[platforms.discord] bots`.
    public var bots: Set<String> = []
    /// How players control replies: buttons on the latest reply (default), reactions, or only commands.
    public var controls: DiscordControls = .buttons
    /// Webhook name used when creating channel webhooks.
    public var webhookName: String
    /// How long a human message in a proxy channel waits for PluralKit or Tupperbox to replace it; zero turns
    /// proxy handling off.
    public var proxyWait: Duration = .milliseconds(1_500)
    /// PluralKit API base URL, without `/v2`.
    public var pluralKitAPI = "https://api.pluralkit.me"
    /// Channels where proxies post, known before one is seen there (others are learned when a proxy posts).
    public var proxyChannels: Set<String> = []

    /// Creates a configuration.
    public init(token: String, apiBaseURL: String = DiscordREST.defaultBaseURL, userAgent: String = DiscordREST.defaultUserAgent,
                gateway: DiscordGatewayConfiguration = .init(), applicationID: String? = nil, useWebhooks: Bool = true,
                slashCommands: SlashCommandScope = .guild([]), catchUpWindow: Duration = .seconds(600),
                boundChannels: [BoundChannel] = [], adminUsers: Set<String> = [], adminRoles: Set<String> = [],
                webhookName: String = "PersonaBridge") {
        self.token = token
        self.apiBaseURL = apiBaseURL
        self.userAgent = userAgent
        self.gateway = gateway
        self.applicationID = applicationID
        self.useWebhooks = useWebhooks
        self.slashCommands = slashCommands
        self.catchUpWindow = catchUpWindow
        self.boundChannels = boundChannels
        self.adminUsers = adminUsers
        self.adminRoles = adminRoles
        self.webhookName = webhookName
    }

    /// Settings without the token.
    public var description: String {
        "DiscordPlatformConfiguration(api: \(apiBaseURL), shard: \(gateway.shardID)/\(gateway.shardCount), intents: \(gateway.intents.rawValue), webhooks: \(useWebhooks), slash: \(slashCommands))"
    }
}

/// How players control replies on Discord (`controls` in the `[discord]` section).
public enum DiscordControls: Hashable, Sendable {
    /// Buttons on the latest reply of each channel.
    case buttons
    /// Reactions on the latest reply (🔁 ⏹ ◀ ▶ ➡), as on Matrix.
    case reactions
    /// Commands only.
    case off
    /// A value this version does not know (treated as `off`).
    case unknown(String)

    /// Parses the config spelling.
    public init(_ text: String) {
        switch text.lowercased() {
        case "buttons": self = .buttons
        case "reactions": self = .reactions
        case "off", "commands": self = .off
        default: self = .unknown(text)
        }
    }
}

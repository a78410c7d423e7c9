import Foundation

/// The `[storage]` section: where history and state live.
public struct StorageSettings: Hashable, Sendable {
    /// Absolute SQLite path (resolved against the config file's directory), when not a URL.
    public var path: String?
    /// A database URL such as `postgres://…`, when given instead of a path.
    public var url: String?
    /// How long one store call may take before it fails with a timeout (`call_timeout_seconds`).
    public var callTimeoutSeconds: Double

    /// Creates storage settings.
    public init(path: String? = nil, url: String? = nil, callTimeoutSeconds: Double = 5) {
        self.path = path
        self.url = url
        self.callTimeoutSeconds = callTimeoutSeconds
    }

    /// The default path relative to the config file.
    public static let defaultRelativePath = "state/persona-bridge.sqlite"
}

/// The `[defaults]` section: values every channel starts from.
public struct DefaultsSettings: Hashable, Sendable {
    /// Base trigger policy (`[defaults.trigger]`).
    public var trigger: TriggerSettings
    /// Moderator command prefix.
    public var commandPrefix: String
    /// Most history messages considered when assembling context.
    public var historyMessages: Int
    /// Model context window in tokens.
    public var contextTokens: Int
    /// Tokens kept free besides the output maximum.
    public var safetyMarginTokens: Int
    /// Default reply length cap in characters, if any.
    public var maxReplyCharacters: Int?
    /// Only messages younger than this are answered after downtime.
    public var catchUpWindowSeconds: Double

    /// Creates defaults.
    public init(
        trigger: TriggerSettings = .builtIn, commandPrefix: String = "!pb", historyMessages: Int = 400,
        contextTokens: Int = 65_536, safetyMarginTokens: Int = 1_024, maxReplyCharacters: Int? = nil,
        catchUpWindowSeconds: Double = 600
    ) {
        self.trigger = trigger
        self.commandPrefix = commandPrefix
        self.historyMessages = historyMessages
        self.contextTokens = contextTokens
        self.safetyMarginTokens = safetyMarginTokens
        self.maxReplyCharacters = maxReplyCharacters
        self.catchUpWindowSeconds = catchUpWindowSeconds
    }
}

/// Admins on one platform (`[admins.<platform>]`).
public struct PlatformAdmins: Hashable, Sendable {
    /// Platform user IDs (Discord snowflakes, Matrix `@user:server`, console names).
    public var users: [String]
    /// Role IDs or names (Discord).
    public var roles: [String]
    /// Services accounts (IRC SASL/NickServ accounts).
    public var accounts: [String]

    /// Creates an admin list.
    public init(users: [String] = [], roles: [String] = [], accounts: [String] = []) {
        self.users = users
        self.roles = roles
        self.accounts = accounts
    }

    /// Whether a speaker with these identifiers is an admin.
    public func matches(userID: String?, roles speakerRoles: [String] = [], account: String? = nil) -> Bool {
        if let userID, users.contains(userID) { return true }
        if let account, accounts.contains(account) { return true }
        return speakerRoles.contains { roles.contains($0) }
    }
}

/// One platform's section (`[platforms.<name>]`), validated loosely: known keys, typed, secrets resolved.
public struct PlatformSettings: Hashable, Sendable {
    /// Platform name (`console`, `discord`, `irc`, `matrix`).
    public var platform: String
    /// Whether the adapter should start.
    public var enabled: Bool
    /// Non-secret values by key (secrets and `*_file` keys excluded).
    public var values: [String: ConfigValue]
    /// Resolved secrets by key name without `_file` (e.g. `token`).
    public var secrets: [String: ConfigSecret]

    /// Creates a platform section.
    public init(platform: String, enabled: Bool, values: [String: ConfigValue] = [:], secrets: [String: ConfigSecret] = [:]) {
        self.platform = platform
        self.enabled = enabled
        self.values = values
        self.secrets = secrets
    }

    /// A string value.
    public func string(_ key: String) -> String? { values[key]?.stringValue }
    /// An integer value.
    public func int(_ key: String) -> Int? { values[key]?.intValue }
    /// A numeric value.
    public func double(_ key: String) -> Double? { values[key]?.doubleValue }
    /// A boolean value.
    public func bool(_ key: String) -> Bool? { values[key]?.boolValue }
    /// A string array value.
    public func strings(_ key: String) -> [String]? { values[key]?.arrayValue?.compactMap(\.stringValue) }
    /// A resolved secret.
    public func secret(_ key: String) -> ConfigSecret? { secrets[key] }
}

/// A `[[channels]]` binding: a platform channel → personas plus trigger overrides.
public struct ChannelBinding: Hashable, Sendable {
    /// Platform name.
    public var platform: String
    /// Server/guild/network, when the platform has one.
    public var server: String?
    /// Platform channel ID (Discord channel ID, `#irc-channel`, Matrix room ID, console name).
    public var channel: String
    /// Persona names bound here; several make a group scene.
    public var personas: [String]
    /// Trigger overrides for this channel (top layer).
    public var trigger: TriggerOverrides
    /// Scene name for the `group` message, overriding the platform-derived one.
    public var scene: String?
    /// IRC channel key, if the channel needs one.
    public var key: String?
    /// Line of the `[[channels]]` header in the config file.
    public var line: Int?
    /// Lorebooks (`N.lore.json` stems in the personas directory) active in this channel besides the personas' own.
    public var lorebooks: [String] = []
    /// Dropped history (tokens) per memory summary here, instead of `[memory] every_tokens`.
    public var memoryEveryTokens: Int?
    /// The summary instructions for this scene, instead of the persona's or `[memory] prompt`.
    public var memoryPrompt: String?
    /// Group-scene settings: activation strategy, prompt mode, nudge.
    public var sceneSettings = SceneSettings()
    /// The `[[scenes]]` entry this channel is linked into, for bindings made from a linked scene.
    public var linkedScene: String?

    /// Creates a binding.
    public init(
        platform: String, server: String? = nil, channel: String, personas: [String],
        trigger: TriggerOverrides = .init(), scene: String? = nil, key: String? = nil, line: Int? = nil
    ) {
        self.platform = platform
        self.server = server
        self.channel = channel
        self.personas = personas
        self.trigger = trigger
        self.scene = scene
        self.key = key
        self.line = line
    }

    /// Identity used to detect duplicates: platform, server, channel.
    public var identity: String { "\(platform)/\(server ?? "")/\(channel)" }
}

/// The `[operations]` section: lifecycle, health/metrics endpoint, logging.
public struct OperationsSettings: Hashable, Sendable {
    /// `host:port` for `/metrics`, `/healthz`, `/readyz`; nil disables it.
    public var metricsAddress: String?
    /// Seconds in-flight replies may finish during shutdown.
    public var shutdownGraceSeconds: Double
    /// `text`, `json` or `auto` (text on a TTY).
    public var logFormat: String
    /// swift-log level name.
    public var logLevel: String
    /// Shard index of this process, for sharded deployments.
    public var shardIndex: Int?
    /// Total number of shards.
    public var shardCount: Int?
    /// A file holding the bearer token `/metrics` requires; nil leaves `/metrics` open to whoever can reach it.
    public var metricsTokenFile: String?
    /// Replies streaming at once in one channel (on platforms with edits); further triggers queue.
    public var maxConcurrentRepliesPerChannel: Int = 3
    /// Prompt records (`why`) kept per channel.
    public var promptRecordsPerChannel: Int = 50
    /// Where `why` writes full prompts on platforms that cannot post files (IRC); nil: the temporary directory.
    public var promptDumpDirectory: String?

    /// Creates operations settings.
    public init(
        metricsAddress: String? = nil, shutdownGraceSeconds: Double = 10, logFormat: String = "auto",
        logLevel: String = "info", shardIndex: Int? = nil, shardCount: Int? = nil
    ) {
        self.metricsAddress = metricsAddress
        self.shutdownGraceSeconds = shutdownGraceSeconds
        self.logFormat = logFormat
        self.logLevel = logLevel
        self.shardIndex = shardIndex
        self.shardCount = shardCount
    }
}

extension OperationsSettings {
    /// `HOST:PORT`, `:PORT` or `PORT` (host defaults to loopback); `[::1]:PORT` for IPv6. `nil` if malformed.
    public static func parseAddress(_ text: String) -> (host: String, port: Int)? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        var host = "127.0.0.1"
        var portText = trimmed
        if let colon = trimmed.lastIndex(of: ":") {
            let hostPart = String(trimmed[..<colon])
            if !hostPart.isEmpty { host = hostPart.trimmingCharacters(in: CharacterSet(charactersIn: "[]")) }
            portText = String(trimmed[trimmed.index(after: colon)...])
        }
        guard let port = Int(portText), (0...65_535).contains(port), !host.isEmpty, !host.contains(" ") else { return nil }
        return (host, port)
    }
}

/// The `[budgets]` section: rolling-day token budgets, a message rate limit (nil = unlimited) and prices.
public struct BudgetSettings: Hashable, Sendable {
    /// Tokens per user per day.
    public var perUserTokensPerDay: Int?
    /// Tokens per channel per day.
    public var perChannelTokensPerDay: Int?
    /// Tokens per server (guild, IRC network, Matrix server) per day.
    public var perServerTokensPerDay: Int?
    /// Minimum seconds between over-budget notices to one user (user budget, rate limit) or in one channel
    /// (channel and server budgets).
    public var noticeIntervalSeconds: Double
    /// Model requests one user may trigger per rolling minute.
    public var perUserMessagesPerMinute: Int?
    /// USD per million uncached prompt tokens, for the cost estimate (OpenRouter's M2-her price by default).
    public var promptUSDPerMillion: Double
    /// USD per million completion tokens.
    public var completionUSDPerMillion: Double
    /// USD per million cached prompt tokens.
    public var cachedUSDPerMillion: Double

    /// Creates budget settings.
    public init(
        perUserTokensPerDay: Int? = nil, perChannelTokensPerDay: Int? = nil,
        perServerTokensPerDay: Int? = nil, noticeIntervalSeconds: Double = 300, perUserMessagesPerMinute: Int? = nil,
        promptUSDPerMillion: Double = 0.30, completionUSDPerMillion: Double = 1.20, cachedUSDPerMillion: Double = 0.03
    ) {
        self.perUserTokensPerDay = perUserTokensPerDay
        self.perChannelTokensPerDay = perChannelTokensPerDay
        self.perServerTokensPerDay = perServerTokensPerDay
        self.noticeIntervalSeconds = noticeIntervalSeconds
        self.perUserMessagesPerMinute = perUserMessagesPerMinute
        self.promptUSDPerMillion = promptUSDPerMillion
        self.completionUSDPerMillion = completionUSDPerMillion
        self.cachedUSDPerMillion = cachedUSDPerMillion
    }

    /// Estimated USD cost of a request's tokens.
    public func estimatedCost(promptTokens: Int, completionTokens: Int, cachedTokens: Int) -> Double {
        let cached = min(max(cachedTokens, 0), promptTokens)
        return (Double(promptTokens - cached) * promptUSDPerMillion + Double(cached) * cachedUSDPerMillion
            + Double(completionTokens) * completionUSDPerMillion) / 1_000_000
    }
}

/// The whole configuration: the main TOML plus the personas it loads.
public struct BridgeConfiguration: Hashable, Sendable {
    /// Absolute path of the main config file.
    public var filePath: String
    /// `[model]`.
    public var model: ModelSettings
    /// `[storage]`.
    public var storage: StorageSettings
    /// `[defaults]`.
    public var defaults: DefaultsSettings
    /// `[admins.<platform>]` by platform name.
    public var admins: [String: PlatformAdmins]
    /// `[platforms.<name>]` by platform name.
    public var platforms: [String: PlatformSettings]
    /// `[[channels]]` in file order.
    public var channels: [ChannelBinding]
    /// Every loaded persona by name.
    public var personas: [String: Persona]
    /// Absolute personas directory.
    public var personasDirectory: String
    /// `[operations]`.
    public var operations: OperationsSettings
    /// `[budgets]`.
    public var budgets: BudgetSettings
    /// Lorebooks from `*.lore.json` in the personas directory, by file stem (a persona's own book has its name).
    public var lorebooks: [String: Lorebook] = [:]
    /// `[[servers]]` in file order.
    public var servers: [ServerSettings] = []
    /// `[memory]`.
    public var memory: MemorySettings = MemorySettings()
    /// `[[scenes]]` in file order: channels linked across platforms into one scene.
    public var scenes: [LinkedScene] = []

    /// Creates a configuration.
    public init(
        filePath: String, model: ModelSettings = .init(), storage: StorageSettings = .init(),
        defaults: DefaultsSettings = .init(), admins: [String: PlatformAdmins] = [:],
        platforms: [String: PlatformSettings] = [:], channels: [ChannelBinding] = [],
        personas: [String: Persona] = [:], personasDirectory: String = "",
        operations: OperationsSettings = .init(), budgets: BudgetSettings = .init()
    ) {
        self.filePath = filePath
        self.model = model
        self.storage = storage
        self.defaults = defaults
        self.admins = admins
        self.platforms = platforms
        self.channels = channels
        self.personas = personas
        self.personasDirectory = personasDirectory
        self.operations = operations
        self.budgets = budgets
    }

    /// Platforms whose section says `enabled = true`.
    public var enabledPlatforms: [String] { platforms.values.filter(\.enabled).map(\.platform).sorted() }

    /// Every channel the bridge watches: `[[channels]]`, then each linked scene's channels as bindings.
    public var allBindings: [ChannelBinding] { channels + scenes.flatMap(\.bindings) }

    /// Bindings for one platform, linked scenes' channels included.
    public func bindings(platform: String) -> [ChannelBinding] { allBindings.filter { $0.platform == platform } }

    /// The binding for a channel, matching `server` when the binding names one.
    public func binding(platform: String, server: String? = nil, channel: String) -> ChannelBinding? {
        allBindings.first { $0.platform == platform && $0.channel == channel && ($0.server == nil || $0.server == server) }
    }

    /// Trigger policy for a persona in a binding: defaults → persona → binding.
    public func triggerSettings(persona: Persona, binding: ChannelBinding?) -> TriggerSettings {
        TriggerSettings.merged(defaults: defaults.trigger, persona: persona.trigger, channel: binding?.trigger ?? .init())
    }

    /// Sampling parameters for a persona: persona overrides over `[model]` defaults.
    public func modelParameters(persona: Persona) -> ModelOverrides { persona.model.layered(over: model.parameters) }

    /// Whether a speaker is an admin named in config.
    public func isAdmin(platform: String, userID: String?, roles: [String] = [], account: String? = nil) -> Bool {
        admins[platform]?.matches(userID: userID, roles: roles, account: account) ?? false
    }
}

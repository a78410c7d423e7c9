import BridgeConfig
import ModelClient

/// Everything the router needs to know from the configuration.
public struct RouterConfiguration: Sendable {
    /// A channel's configured personas and trigger overrides.
    public struct Binding: Hashable, Sendable {
        /// Platform name.
        public var platform: String
        /// Channel id.
        public var channelID: String
        /// Persona ids, first is primary.
        public var personas: [String]
        /// Trigger overrides for the channel.
        public var trigger: TriggerOverrides
        /// Scene name for the `group` role, instead of platform · server · channel.
        public var scene: String?
        /// Lorebooks active here besides the personas' own (`[[channels]] lorebooks`).
        public var lorebooks: [String] = []
        /// Dropped history (tokens) per memory summary here, instead of `memory.everyTokens`.
        public var memoryEveryTokens: Int?
        /// Summary instructions for this scene, instead of the persona's or `memory.prompt`.
        public var memoryPrompt: String?
        /// Group-scene settings (`activation`, `allow_self_responses`, `group_prompt`, `group_nudge`).
        public var sceneSettings = SceneSettings()

        /// Creates a binding.
        public init(platform: String, channelID: String, personas: [String], trigger: TriggerOverrides = .init(),
                    scene: String? = nil) {
            self.platform = platform
            self.channelID = channelID
            self.personas = personas
            self.trigger = trigger
            self.scene = scene
        }
    }

    /// Known personas by id.
    public var personas: [String: Persona]
    /// Channel bindings.
    public var bindings: [Binding]
    /// Personas for channels without a binding (empty: unbound channels are only recorded).
    public var defaultPersonas: [String]
    /// Trigger defaults.
    public var trigger: TriggerSettings
    /// Admin user ids, as `platform:userID` or a bare user id (any platform).
    public var admins: Set<String>
    /// Command prefix.
    public var commandPrefix: String
    /// Model name override, if any.
    public var model: String?
    /// Base model parameters (personas may override).
    public var parameters: ModelParameters
    /// Stored messages loaded per prompt.
    public var historyLimit: Int
    /// Safety margin of the token budget.
    public var safetyMarginTokens: Int
    /// Cost budgets, rate limit and prices.
    public var budgets: BudgetSettings = BudgetSettings()
    /// How long in-flight replies may run on after shutdown starts before they are cut off with a notice.
    public var shutdownGrace: Duration = .seconds(10)
    /// Replies streaming at once per channel on platforms with edits (others answer one at a time).
    public var maxConcurrentReplies: Int = 3
    /// Lorebooks by name (`*.lore.json` stems); a persona's own book has the persona's name.
    public var lorebooks: [String: Lorebook] = [:]
    /// Lorebooks for every channel of a server, or of a platform (`[[servers]]`).
    public var servers: [ServerSettings] = []
    /// Prompt records (`why`) kept per channel.
    public var promptRecordsPerScene: Int = 50
    /// Where `why` writes the full prompt on platforms that cannot post a file (IRC); nil: the system's temporary
    /// directory.
    public var promptDumpDirectory: String?
    /// Long-term memory (`[memory]`).
    public var memory: MemorySettings = MemorySettings()
    /// The first wait before a failed memory summary is tried again; it doubles per failure up to 32 times this.
    public var memoryRetryDelay: Duration = .seconds(30)
    /// Channels where mature personas may answer, by platform (`[platforms.*] mature_channels`); Discord's
    /// age-restricted channels are known to the adapter instead.
    public var matureChannels: [String: [String]] = [:]
    /// Personas users may talk to in direct messages, by platform (`[platforms.*] dm_personas`); the first is the
    /// default. A platform without any ignores direct messages (they are only recorded).
    public var dmPersonas: [String: [String]] = [:]
    /// Channels linked across platforms into one scene (`[[scenes]]`); their bindings are in `bindings` too.
    public var linkedScenes: [LinkedScene] = []
    /// The first wait before a reply that failed on one of a linked scene's platforms is posted there again; it
    /// doubles per attempt.
    public var linkRetryDelay: Duration = .seconds(2)
    /// Relay bots by platform (`[platforms.*] relays`): their messages are credited to the speakers they name.
    public var relays: [String: [RelaySettings]] = [:]

    /// Creates a configuration.
    public init(personas: [Persona], bindings: [Binding] = [], defaultPersonas: [String] = [],
                trigger: TriggerSettings = .builtIn, admins: Set<String> = [], commandPrefix: String = "!pb",
                model: String? = nil, parameters: ModelParameters = ModelParameters(), historyLimit: Int = 500,
                safetyMarginTokens: Int = 1024) {
        self.personas = Dictionary(personas.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        self.bindings = bindings
        self.defaultPersonas = defaultPersonas
        self.trigger = trigger
        self.admins = admins
        self.commandPrefix = commandPrefix
        self.model = model
        self.parameters = parameters
        self.historyLimit = historyLimit
        self.safetyMarginTokens = safetyMarginTokens
    }

    /// Resolves a persona by id or display name, case-insensitively.
    public func persona(named name: String) -> Persona? {
        if let p = personas[name] { return p }
        let lower = name.lowercased()
        return personas.values.first { $0.name.lowercased() == lower || $0.displayName.lowercased() == lower }
    }

    /// The channel's `[[channels]]` binding; a thread without one of its own takes its parent channel's (personas,
    /// trigger and scene settings; its history and memory stay its own). Direct messages have none.
    func binding(for channel: ChannelRef) -> Binding? {
        if channel.isDirect { return nil }
        if let own = bindings.first(where: { $0.platform == channel.platform && $0.channelID == channel.channelID }) { return own }
        // The parent by id: `channel.parent` would build a reference (and its key) on every look-up.
        guard let parentID = channel.parentID, parentID != channel.channelID else { return nil }
        return bindings.first { $0.platform == channel.platform && $0.channelID == parentID }
    }

    /// Whether a `[[channels]]` binding names the channel itself (not only a thread's parent).
    func hasOwnBinding(_ channel: ChannelRef) -> Bool {
        !channel.isDirect && bindings.contains { $0.platform == channel.platform && $0.channelID == channel.channelID }
    }

    /// The personas allowed in direct messages on `platform`, in order (known ones only).
    func directPersonas(on platform: String) -> [String] {
        (dmPersonas[platform] ?? []).filter { personas[$0] != nil }
    }

    /// The `[[servers]]` lorebooks that cover `channel`: platform-wide ones first, then its server's.
    func serverLorebooks(for channel: ChannelRef) -> [String] {
        let covering = servers.filter { $0.covers(platform: channel.platform, server: channel.serverID) }
        return covering.filter { $0.server == nil }.flatMap(\.lorebooks) + covering.filter { $0.server != nil }.flatMap(\.lorebooks)
    }

    /// A config admin by identity; on IRC that is the message's services account (or user@host), never the nick.
    func isAdmin(_ user: ChatUser, on platform: String) -> Bool {
        admins.contains(user.identity) || admins.contains("\(platform):\(user.identity)")
    }
}

extension RouterConfiguration {
    /// The router's view of a loaded configuration file.
    public init(_ config: BridgeConfiguration) {
        var admins = Set<String>()
        for (platform, list) in config.admins {
            for user in list.users { admins.insert("\(platform):\(user)") }
        }
        let overrides = config.model.parameters
        var parameters = ModelParameters()
        parameters.temperature = overrides.temperature ?? parameters.temperature
        parameters.topP = overrides.topP ?? parameters.topP
        parameters.maxOutputTokens = overrides.maxOutputTokens ?? parameters.maxOutputTokens
        self.init(
            personas: Array(config.personas.values),
            bindings: config.allBindings.map {
                var binding = Binding(platform: $0.platform, channelID: $0.channel, personas: $0.personas, trigger: $0.trigger,
                                      scene: $0.scene)
                binding.lorebooks = $0.lorebooks
                binding.memoryEveryTokens = $0.memoryEveryTokens
                binding.memoryPrompt = $0.memoryPrompt
                binding.sceneSettings = $0.sceneSettings
                return binding
            },
            trigger: config.defaults.trigger,
            admins: admins,
            commandPrefix: config.defaults.commandPrefix,
            model: config.model.model,
            parameters: parameters,
            historyLimit: config.defaults.historyMessages,
            safetyMarginTokens: config.defaults.safetyMarginTokens)
        budgets = config.budgets
        shutdownGrace = .milliseconds(Int64((config.operations.shutdownGraceSeconds * 1_000).rounded()))
        maxConcurrentReplies = config.operations.maxConcurrentRepliesPerChannel
        lorebooks = config.lorebooks
        servers = config.servers
        promptRecordsPerScene = config.operations.promptRecordsPerChannel
        promptDumpDirectory = config.operations.promptDumpDirectory
        memory = config.memory
        matureChannels = config.platforms.compactMapValues { $0.matureChannels.isEmpty ? nil : $0.matureChannels }
        dmPersonas = config.platforms.compactMapValues { $0.dmPersonas.isEmpty ? nil : $0.dmPersonas }
        linkedScenes = config.scenes.map { LinkedScene($0) }
        relays = config.platforms.compactMapValues { $0.relays.isEmpty ? nil : $0.relays }
    }
}

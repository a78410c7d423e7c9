/// A `[[scenes]]` entry: channels on several platforms linked into one scene, with one history, persona set,
/// memory, budgets and stored settings, and every reply posted to all of them.
public struct LinkedScene: Hashable, Sendable {
    /// One linked channel, identified as a `[[channels]]` binding identifies it.
    public struct Channel: Hashable, Sendable {
        /// Platform name.
        public var platform: String
        /// Server/guild/network, when the platform has one.
        public var server: String?
        /// Platform channel ID (Discord channel ID, `#irc-channel`, Matrix room ID, console name).
        public var channel: String
        /// IRC channel key, if the channel needs one.
        public var key: String?

        /// Creates a linked channel.
        public init(platform: String, server: String? = nil, channel: String, key: String? = nil) {
            self.platform = platform
            self.server = server
            self.channel = channel
            self.key = key
        }

        /// Identity used to detect duplicates, the same as `ChannelBinding.identity`.
        public var identity: String { "\(platform)/\(server ?? "")/\(channel)" }
    }

    /// The scene's name (`scene:<name>` keys its history and settings).
    public var name: String
    /// The linked channels, in file order; a reply goes to each of them.
    public var channels: [Channel]
    /// The scene's personas, as a `[[channels]]` binding lists them.
    public var personas: [String]
    /// Trigger overrides for the scene.
    public var trigger: TriggerOverrides = .init()
    /// Lorebooks active in the scene besides the personas' own.
    public var lorebooks: [String] = []
    /// Dropped history (tokens) per memory summary, instead of `[memory] every_tokens`.
    public var memoryEveryTokens: Int?
    /// The summary instructions for this scene.
    public var memoryPrompt: String?
    /// Group-scene settings: activation strategy, prompt mode, nudge.
    public var sceneSettings = SceneSettings()
    /// Whether people's messages are copied to the other linked channels (`[irc] <alice> hi`).
    public var relayHumans = false
    /// Line of the `[[scenes]]` header in the config file.
    public var line: Int?

    /// Creates a linked scene.
    public init(name: String, channels: [Channel], personas: [String], relayHumans: Bool = false, line: Int? = nil) {
        self.name = name
        self.channels = channels
        self.personas = personas
        self.relayHumans = relayHumans
        self.line = line
    }

    /// One `[[channels]]`-style binding per linked channel, carrying the scene's personas and settings, so the
    /// adapters join and watch linked channels as they do bound ones.
    public var bindings: [ChannelBinding] {
        channels.map { link in
            var binding = ChannelBinding(platform: link.platform, server: link.server, channel: link.channel, personas: personas,
                                         trigger: trigger, scene: name, key: link.key, line: line)
            binding.lorebooks = lorebooks
            binding.memoryEveryTokens = memoryEveryTokens
            binding.memoryPrompt = memoryPrompt
            binding.sceneSettings = sceneSettings
            binding.linkedScene = name
            return binding
        }
    }
}

/// When a persona speaks without being addressed.
public struct TriggerMode: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
    /// The config spelling.
    public let rawValue: String
    /// Creates a mode from its config spelling; unknown values are kept.
    public init(rawValue: String) { self.rawValue = rawValue }

    /// Reply to every message (subject to cooldown and the bot-turn cap).
    public static let always = TriggerMode(rawValue: "always")
    /// Reply only when addressed: mention, reply, or name as a whole word.
    public static let mentionOnly = TriggerMode(rawValue: "mention")
    /// When not addressed, reply with probability `talkativeness`.
    public static let probability = TriggerMode(rawValue: "probability")

    /// Modes this build understands.
    public static let known: [TriggerMode] = [.always, .mentionOnly, .probability]
    /// Whether this is one of `known`.
    public var isKnown: Bool { Self.known.contains(self) }
    /// The config spelling.
    public var description: String { rawValue }

    /// Parses config text, accepting `mention-only` / `mention_only` for `mention`.
    public static func parse(_ text: String) -> TriggerMode {
        switch text.lowercased() {
        case "mention", "mention-only", "mention_only", "mentions": return .mentionOnly
        default: return TriggerMode(rawValue: text.lowercased())
        }
    }
}

/// A fully resolved trigger policy for one persona in one channel.
public struct TriggerSettings: Hashable, Sendable, Codable {
    /// The reply mode.
    public var mode: TriggerMode
    /// Probability 0...1 of replying unaddressed in `.probability` mode.
    public var talkativeness: Double
    /// Minimum seconds between unaddressed replies in a channel.
    public var cooldownSeconds: Double
    /// Cap on consecutive bot-to-bot turns so bots cannot loop.
    public var maxBotTurns: Int
    /// Whether messages from other bots may trigger a reply.
    public var respondToBots: Bool

    /// Creates settings; the defaults are the built-in base layer.
    public init(
        mode: TriggerMode = .mentionOnly, talkativeness: Double = 0.3, cooldownSeconds: Double = 5,
        maxBotTurns: Int = 3, respondToBots: Bool = false
    ) {
        self.mode = mode
        self.talkativeness = talkativeness
        self.cooldownSeconds = cooldownSeconds
        self.maxBotTurns = maxBotTurns
        self.respondToBots = respondToBots
    }

    /// Built-in base layer used when `[defaults.trigger]` is absent.
    public static let builtIn = TriggerSettings()

    /// Returns these settings with every value set in `overrides` replaced.
    public func applying(_ overrides: TriggerOverrides) -> TriggerSettings {
        TriggerSettings(
            mode: overrides.mode ?? mode,
            talkativeness: overrides.talkativeness ?? talkativeness,
            cooldownSeconds: overrides.cooldownSeconds ?? cooldownSeconds,
            maxBotTurns: overrides.maxBotTurns ?? maxBotTurns,
            respondToBots: overrides.respondToBots ?? respondToBots)
    }

    /// Merges defaults → persona → channel binding (later layers win).
    public static func merged(
        defaults: TriggerSettings, persona: TriggerOverrides, channel: TriggerOverrides
    ) -> TriggerSettings {
        defaults.applying(persona).applying(channel)
    }
}

/// A partial trigger policy (persona file or channel binding); nil means "inherit".
public struct TriggerOverrides: Hashable, Sendable, Codable {
    /// Overrides `mode`.
    public var mode: TriggerMode?
    /// Overrides `talkativeness`.
    public var talkativeness: Double?
    /// Overrides `cooldownSeconds`.
    public var cooldownSeconds: Double?
    /// Overrides `maxBotTurns`.
    public var maxBotTurns: Int?
    /// Overrides `respondToBots`.
    public var respondToBots: Bool?

    /// Creates overrides.
    public init(
        mode: TriggerMode? = nil, talkativeness: Double? = nil, cooldownSeconds: Double? = nil,
        maxBotTurns: Int? = nil, respondToBots: Bool? = nil
    ) {
        self.mode = mode
        self.talkativeness = talkativeness
        self.cooldownSeconds = cooldownSeconds
        self.maxBotTurns = maxBotTurns
        self.respondToBots = respondToBots
    }
}

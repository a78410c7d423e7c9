import Foundation

/// Per-channel settings changed from chat by moderator commands; each `nil` means "not
/// overridden, use the configuration file".
public struct ChannelSettings: Hashable, Sendable {
    /// Personas bound to the channel, in order; `nil` keeps the configured binding.
    public var personas: [String]?
    /// `true` after `persona off`: no persona answers in this channel.
    public var personaOff: Bool
    /// Talkativeness probability override in 0...1.
    public var talkativeness: Double?
    /// Trigger mode override as the configuration spells it (`always`, `mention`, `probability`).
    public var triggerMode: String?
    /// Cooldown override in seconds.
    public var cooldownSeconds: Double?
    /// Override of the consecutive bot-to-bot turn cap.
    public var maxBotTurns: Int?
    /// Override of whether other bots' messages may trigger a reply.
    public var respondToBots: Bool?
    /// Group activation strategy override (`natural`, `list`, `pooled`, `manual`), set by `scene activation`.
    public var activation: String?
    /// Personas muted here (`mute NAME`): bound, but chosen by no activation strategy.
    public var mutedPersonas: [String] = []
    /// Platform user id of whoever last changed the settings.
    public var updatedBy: String?
    /// When the settings were last changed.
    public var updatedAt: Date?

    /// Creates settings; every override defaults to "not set".
    public init(
        personas: [String]? = nil,
        personaOff: Bool = false,
        talkativeness: Double? = nil,
        triggerMode: String? = nil,
        cooldownSeconds: Double? = nil,
        maxBotTurns: Int? = nil,
        respondToBots: Bool? = nil,
        updatedBy: String? = nil,
        updatedAt: Date? = nil
    ) {
        self.personas = personas
        self.personaOff = personaOff
        self.talkativeness = talkativeness
        self.triggerMode = triggerMode
        self.cooldownSeconds = cooldownSeconds
        self.maxBotTurns = maxBotTurns
        self.respondToBots = respondToBots
        self.updatedBy = updatedBy
        self.updatedAt = updatedAt
    }
}

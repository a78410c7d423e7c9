/// One example exchange that sets a persona's style (`sample_message_user` / `sample_message_ai`).
public struct PersonaExample: Hashable, Sendable, Codable {
    /// What the user says.
    public var user: String
    /// How the persona answers.
    public var ai: String

    /// Creates an example pair.
    public init(user: String, ai: String) {
        self.user = user
        self.ai = ai
    }
}

/// A character the bridge can speak as, loaded from `Bots/personas/*.toml`.
public struct Persona: Hashable, Sendable, Codable {
    /// Stable identifier used in config and chat commands (e.g. `marta`).
    public var name: String
    /// Name shown on platforms and used as the `system` message `name`.
    public var displayName: String
    /// Extra names the persona answers to when addressed as a whole word.
    public var aliases: [String]
    /// Avatar image URL for platforms with per-message identities.
    public var avatarURL: String?
    /// The character text sent as the `system` message.
    public var character: String
    /// Template for the `user_system` message; `{{char}}` (display name) and `{{people}}` (who is present) are replaced.
    public var userSystemTemplate: String?
    /// Example dialogue pairs (1-3 recommended).
    public var examples: [PersonaExample]
    /// Optional first message when the persona joins a scene.
    public var greeting: String?
    /// Per-persona model parameter overrides.
    public var model: ModelOverrides
    /// Per-persona trigger-policy overrides, layered over `[defaults.trigger]`.
    public var trigger: TriggerOverrides
    /// Upper bound on a reply's length in characters, if any.
    public var maxReplyCharacters: Int?
    /// Prefix marking an action line (e.g. `*`), sent as `/me` where supported.
    public var actionMarker: String?
    /// The file the persona was loaded from, if any.
    public var sourcePath: String?
    /// Other greetings (a card's `alternate_greetings`); `greeting = "random"` picks one of them.
    public var alternateGreetings: [String] = []
    /// Greetings for scenes with several personas (a card's `group_only_greetings`).
    public var groupGreetings: [String] = []
    /// Instructions sent after the history, as the prompt's last message (a card's `post_history_instructions`).
    public var postHistory: String?
    /// Example exchanges beyond the three sent to the model, kept so nothing from a card is lost.
    public var examplesExtra: [PersonaExample] = []
    /// Instructions for summarising scenes this persona leads into long-term memory, instead of `[memory] prompt`.
    public var memoryPrompt: String?
    /// `content_rating`: `nil` (as in personas stored before ratings existed) means `.general`.
    public var contentRating: ContentRating?

    /// Creates a persona.
    public init(
        name: String, displayName: String? = nil, aliases: [String] = [], avatarURL: String? = nil,
        character: String, userSystemTemplate: String? = nil, examples: [PersonaExample] = [],
        greeting: String? = nil, model: ModelOverrides = .init(), trigger: TriggerOverrides = .init(),
        maxReplyCharacters: Int? = nil, actionMarker: String? = nil, sourcePath: String? = nil
    ) {
        self.name = name
        self.displayName = displayName ?? name
        self.aliases = aliases
        self.avatarURL = avatarURL
        self.character = character
        self.userSystemTemplate = userSystemTemplate
        self.examples = examples
        self.greeting = greeting
        self.model = model
        self.trigger = trigger
        self.maxReplyCharacters = maxReplyCharacters
        self.actionMarker = actionMarker
        self.sourcePath = sourcePath
    }
}

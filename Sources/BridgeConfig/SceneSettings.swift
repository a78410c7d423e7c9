/// How the personas of a group scene are chosen to answer a message (SillyTavern's group activation).
public struct ActivationStrategy: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
    /// The config spelling.
    public let rawValue: String
    /// Creates a strategy from its config spelling; unknown values are kept.
    public init(rawValue: String) { self.rawValue = rawValue }

    /// Personas named in the message first, then talkativeness rolls in shuffled order, one fallback when addressed.
    public static let natural = ActivationStrategy(rawValue: "natural")
    /// Every unmuted persona, in list order.
    public static let list = ActivationStrategy(rawValue: "list")
    /// One persona that has not spoken since the last human message.
    public static let pooled = ActivationStrategy(rawValue: "pooled")
    /// Nobody until `next NAME`.
    public static let manual = ActivationStrategy(rawValue: "manual")

    /// Strategies this build understands.
    public static let known: [ActivationStrategy] = [.natural, .list, .pooled, .manual]
    /// Whether this is one of `known`.
    public var isKnown: Bool { Self.known.contains(self) }
    /// The config spelling.
    public var description: String { rawValue }

    /// Parses config or chat text (case-insensitive).
    public static func parse(_ text: String) -> ActivationStrategy { ActivationStrategy(rawValue: text.lowercased()) }
}

/// What a group scene's system prompt holds.
public struct GroupPromptMode: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
    /// The config spelling.
    public let rawValue: String
    /// Creates a mode from its config spelling; unknown values are kept.
    public init(rawValue: String) { self.rawValue = rawValue }

    /// Only the speaking persona's card.
    public static let swap = GroupPromptMode(rawValue: "swap")
    /// Every member's card in list order, so the prompt prefix does not change with the speaker.
    public static let join = GroupPromptMode(rawValue: "join")

    /// Modes this build understands.
    public static let known: [GroupPromptMode] = [.swap, .join]
    /// Whether this is one of `known`.
    public var isKnown: Bool { Self.known.contains(self) }
    /// The config spelling.
    public var description: String { rawValue }

    /// Parses config text (case-insensitive).
    public static func parse(_ text: String) -> GroupPromptMode { GroupPromptMode(rawValue: text.lowercased()) }
}

/// A channel's group-scene settings (`[[channels]] activation`, `allow_self_responses`, `group_prompt`, `group_nudge`).
public struct SceneSettings: Hashable, Sendable {
    /// The default nudge placed at the very end of a group prompt.
    public static let defaultNudge = "[Write the next reply only as {{char}}.]"
    /// Talkativeness of a persona that sets none, in a scene (SillyTavern's default).
    public static let defaultTalkativeness = 0.5

    /// How personas are chosen; nil: the single-persona trigger policy (at most one answers).
    public var activation: ActivationStrategy?
    /// Whether the persona that spoke last may be chosen again by talkativeness or fallback.
    public var allowSelfResponses: Bool
    /// Swap or join cards in the system prompt.
    public var groupPrompt: GroupPromptMode
    /// The nudge template (`{{char}}` is the speaker); empty: none.
    public var groupNudge: String

    /// Creates settings; the defaults are SillyTavern's.
    public init(activation: ActivationStrategy? = nil, allowSelfResponses: Bool = false, groupPrompt: GroupPromptMode = .swap,
                groupNudge: String = SceneSettings.defaultNudge) {
        self.activation = activation
        self.allowSelfResponses = allowSelfResponses
        self.groupPrompt = groupPrompt
        self.groupNudge = groupNudge
    }
}

extension SchemaReader {
    /// Reads a `[[channels]]` table's scene keys, reporting unknown strategies and modes with a suggestion.
    func sceneSettings(_ table: [String: ConfigValue], at path: String, personaCount: Int) -> SceneSettings {
        var scene = SceneSettings()
        if let text = string(table, "activation", at: path) {
            let strategy = ActivationStrategy.parse(text)
            if strategy.isKnown {
                scene.activation = strategy
                if personaCount < 2 {
                    report(Self.path(path, "activation"), "activation '\(text)' on a channel with one persona changes nothing",
                           hint: "bind several personas (personas = [\"a\", \"b\"]) to make a group scene", severity: .warning)
                }
            } else {
                let names = ActivationStrategy.known.map(\.rawValue)
                let near = Self.suggestion(for: text.lowercased(), among: names)
                report(Self.path(path, "activation"), "unknown activation '\(text)'",
                       hint: near.map { "did you mean '\($0)'?" } ?? "use one of: \(names.joined(separator: ", "))")
            }
        }
        if let text = string(table, "group_prompt", at: path) {
            let mode = GroupPromptMode.parse(text)
            if mode.isKnown {
                scene.groupPrompt = mode
            } else {
                let names = GroupPromptMode.known.map(\.rawValue)
                let near = Self.suggestion(for: text.lowercased(), among: names)
                report(Self.path(path, "group_prompt"), "unknown group_prompt '\(text)'",
                       hint: near.map { "did you mean '\($0)'?" } ?? "use one of: \(names.joined(separator: ", "))")
            }
        }
        if let nudge = string(table, "group_nudge", at: path) {
            if nudge.count > 500 {
                report(Self.path(path, "group_nudge"), "group_nudge is \(nudge.count) characters long",
                       hint: "keep it to one short instruction (at most 500 characters); \"\" turns it off")
            } else {
                scene.groupNudge = nudge
            }
        }
        scene.allowSelfResponses = bool(table, "allow_self_responses", at: path) ?? false
        return scene
    }
}

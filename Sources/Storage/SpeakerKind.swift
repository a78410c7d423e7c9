/// Who spoke a stored message, relative to this bridge.
///
/// The raw value is what is stored; a value written by a newer version decodes as `.unknown`
/// and is written back unchanged.
public enum SpeakerKind: Hashable, Sendable, RawRepresentable, CustomStringConvertible {
    /// A human user.
    case human
    /// One of this bridge's personas; `StoredMessage.personaName` says which.
    case persona
    /// A persona run by something else (another bridge process or a similar bot).
    case otherPersona
    /// Any other bot.
    case bot
    /// A kind this version does not know; the raw string is kept.
    case unknown(String)

    /// Decodes a stored raw value; never fails.
    public init(rawValue: String) {
        switch rawValue {
        case "human": self = .human
        case "persona": self = .persona
        case "other_persona": self = .otherPersona
        case "bot": self = .bot
        default: self = .unknown(rawValue)
        }
    }

    /// The stored spelling: `human`, `persona`, `other_persona`, `bot`, or the unknown string.
    public var rawValue: String {
        switch self {
        case .human: "human"
        case .persona: "persona"
        case .otherPersona: "other_persona"
        case .bot: "bot"
        case .unknown(let value): value
        }
    }

    /// Same as `rawValue`.
    public var description: String { rawValue }
}

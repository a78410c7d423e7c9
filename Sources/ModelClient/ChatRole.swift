/// A message role as M2-her understands it; unknown roles are kept verbatim.
public struct ChatRole: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
    /// The role's wire value, e.g. `"user_system"`.
    public let rawValue: String

    /// Wraps any wire value, including ones this version does not know.
    public init(rawValue: String) { self.rawValue = rawValue }

    /// The character definition; `name` is the character's name.
    public static let system = ChatRole(rawValue: "system")
    /// A human (or another bot) speaking; `name` is the speaker.
    public static let user = ChatRole(rawValue: "user")
    /// The character's earlier replies.
    public static let assistant = ChatRole(rawValue: "assistant")
    /// The user's own persona or role in the scene.
    public static let userSystem = ChatRole(rawValue: "user_system")
    /// The conversation's name (channel or scene).
    public static let group = ChatRole(rawValue: "group")
    /// The user half of a style example.
    public static let sampleMessageUser = ChatRole(rawValue: "sample_message_user")
    /// The character half of a style example.
    public static let sampleMessageAI = ChatRole(rawValue: "sample_message_ai")

    /// The roles plain OpenAI-compatible endpoints understand.
    public static let openAIStandard: Set<ChatRole> = [.system, .user, .assistant]

    /// Whether this role is an M2-her extension that some intermediaries reject.
    public var isExtension: Bool { !ChatRole.openAIStandard.contains(self) }

    /// The wire value.
    public var description: String { rawValue }

    /// Decodes a bare JSON string.
    public init(from decoder: any Decoder) throws {
        rawValue = try decoder.singleValueContainer().decode(String.self)
    }

    /// Encodes as a bare JSON string.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

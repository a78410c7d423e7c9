/// One message of a conversation sent to the model.
public struct ChatMessage: Hashable, Sendable, Codable {
    /// Who speaks.
    public var role: ChatRole
    /// The text.
    public var content: String
    /// The speaker's or character's name; omitted from JSON when nil.
    public var name: String?

    /// Creates a message.
    public init(role: ChatRole, content: String, name: String? = nil) {
        self.role = role
        self.content = content
        self.name = name
    }

    private enum CodingKeys: String, CodingKey { case role, content, name }

    /// Decodes `{role, content, name?}`; a null content decodes as empty text.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        role = try container.decode(ChatRole.self, forKey: .role)
        content = try container.decodeIfPresent(String.self, forKey: .content) ?? ""
        name = try container.decodeIfPresent(String.self, forKey: .name)
    }

    /// Encodes `{role, content, name?}`, leaving `name` out when nil.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(role, forKey: .role)
        try container.encode(content, forKey: .content)
        try container.encodeIfPresent(name, forKey: .name)
    }
}

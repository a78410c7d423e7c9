/// Rewrites M2-her's extra roles for providers that only accept `system`, `user` and `assistant`.
///
/// The folded conversation is one `system` message followed by the `user` and `assistant`
/// messages in their original order, each keeping its `name`. The system message keeps the first
/// system message's `name` and holds, in this fixed order and separated by blank lines:
///
/// ```text
/// <every system message's content, in order, joined by blank lines>
///
/// [Scene]
/// <each group message: "name: content", or just content when unnamed>
///
/// [User persona]
/// <each user_system message: "name: content", or just content when unnamed>
///
/// [Example exchanges: they set style and pacing only and are not part of the conversation]
/// <sample_message_user: "name: content", the name defaulting to "User">
/// <sample_message_ai: "name: content", the name defaulting to the character's system name or "Character">
/// (a blank line before each exchange after the first, an exchange starting at a user sample)
///
/// [Other context]
/// <any unknown role: "role (name): content">
/// ```
///
/// Sections without messages are left out; a conversation without extra roles comes back unchanged
/// except that several system messages are merged into one. The result depends only on the input.
public enum RoleFolding {
    /// Section headings, exposed so tests and docs agree with the code.
    public static let sceneHeading = "[Scene]"
    /// Heading of the user's persona section.
    public static let userPersonaHeading = "[User persona]"
    /// Heading of the examples section.
    public static let examplesHeading =
        "[Example exchanges: they set style and pacing only and are not part of the conversation]"
    /// Heading of the section for roles this version does not know.
    public static let otherHeading = "[Other context]"

    /// Whether folding would change anything about these messages.
    public static func needsFolding(_ messages: [ChatMessage]) -> Bool {
        messages.contains { $0.role.isExtension } || messages.filter { $0.role == .system }.count > 1
    }

    /// Folds extra roles into the system text as documented on the type.
    public static func fold(_ messages: [ChatMessage]) -> [ChatMessage] {
        guard needsFolding(messages) else { return messages }
        var systemParts: [String] = []
        var systemName: String?
        var scene: [String] = []
        var persona: [String] = []
        var examples: [String] = []
        var other: [String] = []
        var conversation: [ChatMessage] = []

        let systemMessages = messages.filter { $0.role == .system }
        systemName = systemMessages.first(where: { $0.name != nil })?.name
        let characterName = systemName ?? "Character"
        var exchangeStarted = false

        for message in messages {
            switch message.role {
            case .system:
                if !message.content.isEmpty { systemParts.append(message.content) }
            case .user, .assistant:
                conversation.append(message)
            case .group:
                scene.append(labelled(message.name, message.content))
            case .userSystem:
                persona.append(labelled(message.name, message.content))
            case .sampleMessageUser:
                if exchangeStarted { examples.append("") }
                exchangeStarted = true
                examples.append("\(message.name ?? "User"): \(message.content)")
            case .sampleMessageAI:
                exchangeStarted = true
                examples.append("\(message.name ?? characterName): \(message.content)")
            default:
                let label = message.name.map { "\(message.role.rawValue) (\($0))" } ?? message.role.rawValue
                other.append("\(label): \(message.content)")
            }
        }

        var blocks = systemParts
        if !scene.isEmpty { blocks.append(([sceneHeading] + scene).joined(separator: "\n")) }
        if !persona.isEmpty { blocks.append(([userPersonaHeading] + persona).joined(separator: "\n")) }
        if !examples.isEmpty { blocks.append(([examplesHeading] + examples).joined(separator: "\n")) }
        if !other.isEmpty { blocks.append(([otherHeading] + other).joined(separator: "\n")) }
        let system = ChatMessage(role: .system, content: blocks.joined(separator: "\n\n"), name: systemName)
        return [system] + conversation
    }

    private static func labelled(_ name: String?, _ content: String) -> String {
        guard let name, !name.isEmpty else { return content }
        return "\(name): \(content)"
    }
}

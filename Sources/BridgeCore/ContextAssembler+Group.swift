import BridgeConfig
import ModelClient

/// A group scene's prompt for one request: the members, the card mode and the nudge.
public struct GroupPrompt: Hashable, Sendable {
    /// Swap (the speaker's card) or join (every member's card).
    public var mode: GroupPromptMode
    /// Every member, in list order, macros expanded; join puts all their cards and examples in the prefix.
    public var members: [Persona]
    /// The nudge with `{{char}}` already replaced by the speaker; nil or empty: none.
    public var nudge: String?

    /// Creates a group prompt.
    public init(mode: GroupPromptMode, members: [Persona], nudge: String?) {
        self.mode = mode
        self.members = members
        self.nudge = nudge
    }

    /// Whether every member's card goes in the system message.
    var joins: Bool { mode == .join && !members.isEmpty }

    /// The `system` message's name in join mode: every member, so it does not change with the speaker.
    var joinedName: String { members.map(\.displayName).joined(separator: ", ") }

    /// The persona the scene part of the prompt (`user_system`) is written for: the speaker in swap mode; in join
    /// mode a stand-in for the whole group, so the people list and its template do not depend on who speaks.
    func promptPersona(speaker: Persona) -> Persona {
        guard joins else { return speaker }
        return Persona(name: "", displayName: joinedName, character: "",
                       userSystemTemplate: members.lazy.compactMap(\.userSystemTemplate).first)
    }

    /// The nudge as the prompt's last message.
    var nudgeMessage: ChatMessage? {
        guard let nudge, !nudge.isEmpty else { return nil }
        return ChatMessage(role: .system, content: nudge)
    }
}

extension ContextAssembler {
    /// The join-mode head: one system message with every member's card under its name, in list order, then every
    /// member's examples; nothing in it depends on who speaks, so the provider's cache survives speaker changes.
    static func joinedHead(_ group: GroupPrompt, lore: [LorebookFiredEntry]) -> [ChatMessage] {
        let cards = group.members.map { "[\($0.displayName)]\n\($0.character)" }.joined(separator: "\n\n")
        var head = [ChatMessage(role: .system, content: systemText(character: cards, lore: lore), name: group.joinedName)]
        for member in group.members {
            for example in member.examples {
                head.append(ChatMessage(role: .sampleMessageUser, content: example.user))
                head.append(ChatMessage(role: .sampleMessageAI, content: example.ai, name: member.displayName))
            }
        }
        return head
    }

    /// A history entry as a prompt message; in join mode every persona's line is the assistant's, under its name,
    /// whoever speaks now (in swap mode only the speaker's own lines are).
    static func message(for entry: HistoryEntry, persona: Persona, group: GroupPrompt?) -> ChatMessage {
        if let group, group.joins, case .persona(_, let displayName) = entry.speaker {
            return ChatMessage(role: .assistant, content: entry.text, name: displayName)
        }
        return message(for: entry, persona: persona)
    }

    /// The history the people list is made from: in join mode without the personas' lines (every member is in
    /// the system message already), so the list does not change when another member first speaks.
    static func people(_ history: ArraySlice<HistoryEntry>, group: GroupPrompt?) -> ArraySlice<HistoryEntry> {
        guard let group, group.joins else { return history }
        return history.filter {
            if case .persona = $0.speaker { return false }
            return true
        }[...]
    }

    /// The nudge template for `speaker`: `{{char}}` becomes its display name.
    public static func nudge(_ template: String, speaker: Persona) -> String {
        template.replacingOccurrences(of: "{{char}}", with: speaker.displayName)
    }
}

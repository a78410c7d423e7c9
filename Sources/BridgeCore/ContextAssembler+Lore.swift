import BridgeConfig
import ModelClient

extension ContextAssembler {
    /// The texts a lorebook scans, oldest first: each history entry as `Name: text`, as SillyTavern scans its chat.
    public static func loreScanTexts(_ history: some Collection<HistoryEntry>) -> [String] {
        history.map { entry in
            switch entry.speaker {
            case .human(_, let name), .bot(_, let name): "\(safeName(name)): \(entry.text)"
            case .persona(_, let displayName): "\(displayName): \(entry.text)"
            }
        }
    }

    /// Whether an entry goes into the stable prefix (the system message): constant and `@@activate` entries always,
    /// keyed `before_char`/`after_char` entries only when `keyedLoreNearEnd` is off.
    func inPrefix(_ entry: LorebookFiredEntry) -> Bool {
        guard entry.position != .atDepth else { return false }
        switch entry.cause {
        case .constant, .decorator: return true
        case .keys, .sticky: return !keyedLoreNearEnd
        }
    }

    /// The system text with lore: `before_char` entries, the character, then `after_char` (and other prefix
    /// positions), each group in the activation's fixed insertion order.
    static func systemText(character: String, lore: [LorebookFiredEntry]) -> String {
        let before = lore.filter { $0.position == .beforeChar }.map(\.content)
        let after = lore.filter { $0.position != .beforeChar && $0.position != .atDepth }.map(\.content)
        return (before + [character] + after).filter { !$0.isEmpty }.joined(separator: "\n\n")
    }

    /// Lore messages for the end of the prompt, by depth: at-depth entries with their role, and keyed
    /// before/after entries (when kept out of the prefix) as one system message one message from the end.
    static func endLore(_ lore: [LorebookFiredEntry], persona: Persona) -> [(depth: Int, message: ChatMessage)] {
        var result: [(depth: Int, message: ChatMessage)] = []
        let keyed = lore.filter { $0.position != .atDepth }
        if !keyed.isEmpty {
            result.append((1, ChatMessage(role: .system, content: systemText(character: "", lore: keyed))))
        }
        for entry in lore where entry.position == .atDepth {
            result.append((entry.depth, depthMessage(entry, persona: persona)))
        }
        return result
    }

    /// End lore inserted into `tail` (the history part of the prompt), `depth` messages from its end.
    static func insertEndLore(_ lore: [(depth: Int, message: ChatMessage)], into tail: [ChatMessage]) -> [ChatMessage] {
        guard !lore.isEmpty else { return tail }
        var result = tail
        let groups = Dictionary(grouping: lore) { max(0, tail.count - $0.depth) }
        // Highest insertion point first, so earlier points keep their index.
        for point in groups.keys.sorted(by: >) {
            result.insert(contentsOf: (groups[point] ?? []).map(\.message), at: point)
        }
        return result
    }

    static func depthMessage(_ entry: LorebookFiredEntry, persona: Persona) -> ChatMessage {
        switch entry.role {
        case .user: ChatMessage(role: .user, content: entry.content)
        case .assistant: ChatMessage(role: .assistant, content: entry.content, name: persona.displayName)
        case .system, .unknown: ChatMessage(role: .system, content: entry.content)
        }
    }

    /// Drops lore until `fits` holds or none is left: at-depth entries first, then prefix entries, the last in
    /// insertion order first, constant entries last (lore is trimmed before history is).
    static func trimLore(_ lore: [LorebookFiredEntry], fits: ([LorebookFiredEntry]) -> Bool) -> [LorebookFiredEntry] {
        var kept = lore
        while !kept.isEmpty && !fits(kept) {
            let victim = kept.lastIndex { $0.position == .atDepth }
                ?? kept.lastIndex { $0.cause != .constant && $0.cause != .decorator }
                ?? kept.count - 1
            kept.remove(at: victim)
        }
        return kept
    }
}

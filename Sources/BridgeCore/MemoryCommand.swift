/// `!pb memory …`: a scene's long-term memory (moderators only, like the prompt view and every settings command).
public enum MemoryCommand: Hashable, Sendable {
    /// `memory show`: the pinned facts and summaries, and how much of the memory budget they take.
    case show
    /// `memory forget`: forget the summaries and pinned facts.
    case forget
    /// `memory add TEXT`: pin a fact; pinned facts are never folded away.
    case add(String)

    /// Whether it changes anything.
    public var changesState: Bool {
        switch self {
        case .show: false
        case .forget, .add: true
        }
    }

    /// Parses the words after `memory`.
    static func parse(_ args: [String], prefix: String) -> Result<BridgeCommand, BridgeCommand.ParseError> {
        let usage = "Usage: \(prefix) memory show | forget | add TEXT"
        guard let sub = args.first?.lowercased() else { return .success(.memory(.show)) }
        switch sub {
        case "show": return .success(.memory(.show))
        case "forget": return .success(.memory(.forget))
        case "add", "pin":
            let text = args.dropFirst().joined(separator: " ")
            guard !text.isEmpty else { return .failure(.init(message: "Usage: \(prefix) memory add TEXT (a fact to keep)")) }
            return .success(.memory(.add(text)))
        default:
            return .failure(.init(message: "Unknown memory command `\(sub)`. " + usage))
        }
    }
}

/// `!pb lore …`: the lorebooks of a channel (moderators only, like every settings command).
public enum LoreCommand: Hashable, Sendable {
    /// `lore list`: the books active here, on or off, with their entry counts.
    case list
    /// `lore show ENTRY`: one entry's keys, placement and text.
    case show(String)
    /// `lore on NAME` / `lore off NAME`: switch a book on or off in this channel.
    case setEnabled(String, Bool)
    /// `lore why`: the entries that fired for the last reply, with the keys that matched.
    case why
    /// `lore attach NAME`: add a configured or imported book to this channel.
    case attach(String)
    /// `lore detach NAME`: remove a book attached with `lore attach`.
    case detach(String)

    /// Whether it changes anything.
    public var changesState: Bool {
        switch self {
        case .list, .show, .why: false
        case .setEnabled, .attach, .detach: true
        }
    }

    /// Parses the words after `lore`.
    static func parse(_ args: [String], prefix: String) -> Result<BridgeCommand, BridgeCommand.ParseError> {
        let usage = "Usage: \(prefix) lore list | show ENTRY | on NAME | off NAME | why | attach NAME | detach NAME"
        guard let sub = args.first?.lowercased() else { return .success(.lore(.list)) }
        let name = args.dropFirst().joined(separator: " ")
        switch sub {
        case "list": return .success(.lore(.list))
        case "why": return .success(.lore(.why))
        case "show", "on", "off", "attach", "detach":
            guard !name.isEmpty else { return .failure(.init(message: usage)) }
            switch sub {
            case "show": return .success(.lore(.show(name)))
            case "on": return .success(.lore(.setEnabled(name, true)))
            case "off": return .success(.lore(.setEnabled(name, false)))
            case "attach": return .success(.lore(.attach(name)))
            default: return .success(.lore(.detach(name)))
            }
        default:
            return .failure(.init(message: "Unknown lore command `\(sub)`. " + usage))
        }
    }
}

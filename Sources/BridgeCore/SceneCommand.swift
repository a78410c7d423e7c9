import BridgeConfig

/// `!pb scene …`, `mute`, `unmute` and `next NAME`: a group scene's activation and who may speak.
public enum SceneCommand: Hashable, Sendable {
    /// `scene`: the activation strategy, prompt mode and personas (muted ones marked).
    case show
    /// `scene activation X`: natural, list, pooled or manual; nil (`off`) goes back to one persona per message.
    case activation(ActivationStrategy?)
    /// `mute NAME`: bound, but chosen by no strategy.
    case mute(String)
    /// `unmute NAME`.
    case unmute(String)
    /// `next NAME` (Discord `/next`): that persona speaks now, in any strategy.
    case next(String)

    /// Whether it changes stored settings (and so needs a moderator or admin).
    public var changesState: Bool {
        switch self {
        case .show, .next: false
        case .activation, .mute, .unmute: true
        }
    }

    /// Parses the words after `scene`.
    static func parse(_ args: [String], prefix: String) -> Result<BridgeCommand, BridgeCommand.ParseError> {
        let names = ActivationStrategy.known.map(\.rawValue).joined(separator: "|")
        let usage = "Usage: \(prefix) scene | scene activation \(names)|off"
        guard let sub = args.first?.lowercased() else { return .success(.scene(.show)) }
        switch sub {
        case "show": return .success(.scene(.show))
        case "activation":
            guard args.count == 2 else { return .failure(.init(message: usage)) }
            let text = args[1].lowercased()
            if text == "off" { return .success(.scene(.activation(nil))) }
            let strategy = ActivationStrategy.parse(text)
            guard strategy.isKnown else {
                return .failure(.init(message: "Unknown activation `\(args[1])`. Use one of: \(names.replacingOccurrences(of: "|", with: ", ")), off."))
            }
            return .success(.scene(.activation(strategy)))
        default:
            return .failure(.init(message: "Unknown scene command `\(sub)`. " + usage))
        }
    }
}

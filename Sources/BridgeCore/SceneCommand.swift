import BridgeConfig
import Foundation

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
    /// `scene start TITLE [| NAME NAME…]` (Discord `/scene start`): opens a thread for a new scene, bound to the
    /// personas named (else the channel's), where the platform has threads.
    case start(title: String, personas: [String])
    /// `scene end` (Discord `/scene end`), in a scene's thread: summarises what memory has not yet, then archives
    /// and locks the thread.
    case end

    /// Longest thread name Discord accepts; longer titles are cut.
    public static let maximumTitleLength = 100

    /// Whether it changes stored settings (and so needs a moderator or admin).
    public var changesState: Bool {
        switch self {
        case .show, .next: false
        case .activation, .mute, .unmute, .start, .end: true
        }
    }

    /// Parses the words after `scene`.
    static func parse(_ args: [String], prefix: String) -> Result<BridgeCommand, BridgeCommand.ParseError> {
        let names = ActivationStrategy.known.map(\.rawValue).joined(separator: "|")
        let usage = "Usage: \(prefix) scene | scene activation \(names)|off | scene start TITLE [| PERSONA…] | scene end"
        guard let sub = args.first?.lowercased() else { return .success(.scene(.show)) }
        switch sub {
        case "show": return .success(.scene(.show))
        case "end":
            guard args.count == 1 else { return .failure(.init(message: "Usage: \(prefix) scene end (in the scene's thread)")) }
            return .success(.scene(.end))
        case "start":
            let parts = args.dropFirst().joined(separator: " ").split(separator: "|", maxSplits: 1, omittingEmptySubsequences: false)
            return start(title: parts.first.map(String.init) ?? "", personas: parts.count > 1 ? String(parts[1]) : "", prefix: prefix)
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

    /// `scene start`'s parts: the title (control characters dropped, cut to 100 characters) and persona names
    /// separated by spaces or commas.
    public static func start(title raw: String, personas list: String, prefix: String) -> Result<BridgeCommand, BridgeCommand.ParseError> {
        let cleaned = String(String.UnicodeScalarView(raw.unicodeScalars.filter { !CharacterSet.controlCharacters.contains($0) }))
        let title = String(cleaned.trimmingCharacters(in: .whitespaces).prefix(maximumTitleLength)).trimmingCharacters(in: .whitespaces)
        guard !title.isEmpty else {
            return .failure(.init(message: "Give the scene a title: \(prefix) scene start TITLE [| PERSONA…]"))
        }
        let names = list.split { $0 == "," || $0.isWhitespace }.map(String.init)
        return .success(.scene(.start(title: title, personas: names)))
    }
}

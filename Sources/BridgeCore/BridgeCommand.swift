/// A chat command addressed to the bridge (`!pb …`).
public enum BridgeCommand: Hashable, Sendable {
    /// `persona list`: personas that can be bound.
    case personaList
    /// `persona show`: personas bound here.
    case personaShow
    /// `persona set NAME`: bind only this persona.
    case personaSet(String)
    /// `persona add NAME`.
    case personaAdd(String)
    /// `persona remove NAME`.
    case personaRemove(String)
    /// `persona off`: no persona answers here.
    case personaOff
    /// `reset`: forget the channel's history.
    case reset
    /// `forget N`: forget the last N messages.
    case forget(Int)
    /// `regenerate`: replace the last reply.
    case regenerate
    /// `continue`: extend the last reply.
    case continueReply
    /// `talkativeness X` with X in 0…1.
    case talkativeness(Double)
    /// `status`.
    case status
    /// `help` or a bare prefix.
    case help
    /// `budget`: token spend and what is left for the channel and server (moderators only).
    case budget
    /// `lore …`: lorebook views and switches (moderators only).
    case lore(LoreCommand)
    /// `persona import [URL]`: import a character card attached to the message (or given as an `mxc://` URL).
    case personaImport(ChatAttachment?)
    /// `why [N]`: the prompt behind the last reply, or the Nth from last (moderators only).
    case why(Int)
    /// `stop`: end the replies streaming in the channel with their partial text.
    case stop
    /// `prev`: show the last reply's previous alternative (swipe left).
    case previousAlternative
    /// `next`: show the last reply's next alternative (swipe right).
    case nextAlternative
    /// `memory …`: the scene's long-term memory (moderators only).
    case memory(MemoryCommand)
    /// `me …`: the character the player plays here or everywhere (any player, for themself).
    case me(PlayerCommand)
    /// `scene …`, `mute NAME`, `unmute NAME`, `next NAME`: group scenes.
    case scene(SceneCommand)

    /// Whether the command changes anything (and so needs a moderator or admin).
    public var changesState: Bool {
        switch self {
        case .personaList, .personaShow, .status, .help, .budget, .why: false
        case .lore(let lore): lore.changesState
        case .memory(let memory): memory.changesState
        case .me(let player): player.changesState
        case .scene(let scene): scene.changesState
        default: true
        }
    }

    /// Whether only moderators and admins may run it: every change except the reply controls, and the budget and
    /// prompt views.
    public var needsModerator: Bool {
        if isReplyControl { return false }
        if case .me = self { return false }
        if case .why = self { return true }
        if case .lore = self { return true }
        if case .memory = self { return true }
        // Any player may ask a persona to speak next, as naming it would.
        if case .scene(.next) = self { return false }
        return changesState || self == .budget
    }

    /// Whether it acts on the latest reply as a player control (regenerate, continue, stop, flipping
    /// alternatives): the player whose message triggered that reply may use it, as may moderators and admins.
    public var isReplyControl: Bool {
        switch self {
        case .regenerate, .continueReply, .stop, .previousAlternative, .nextAlternative: true
        default: false
        }
    }

    /// True when the first byte after leading ASCII whitespace already differs from the prefix's first byte
    /// (ASCII, either case): most chatter is no command, and this spares it a trimmed, lowercased copy.
    /// Anything not ASCII there is left to the full comparison.
    static func cannotStart(_ text: String, with prefix: String) -> Bool {
        guard let p = prefix.utf8.first, p < 0x80, !(0x09...0x0D).contains(p), p != 0x20 else { return false }
        for byte in text.utf8 {
            if byte == 0x20 || (0x09...0x0D).contains(byte) { continue }
            if byte >= 0x80 { return false }
            return lowerASCII(byte) != lowerASCII(p)
        }
        return false
    }

    private static func lowerASCII(_ byte: UInt8) -> UInt8 {
        (0x41...0x5A).contains(byte) ? byte | 0x20 : byte
    }

    /// A parse failure, with the text to show the user.
    public struct ParseError: Error, Hashable, Sendable {
        /// What is wrong and how to fix it.
        public var message: String
    }

    /// Parses `text` if it starts with `prefix` as a word; nil when it is not a command at all.
    public static func parse(_ text: String, prefix: String) -> Result<BridgeCommand, ParseError>? {
        if cannotStart(text, with: prefix) { return nil }
        let trimmed = text.trimmingWhitespaceAndNewlines()
        guard trimmed.lowercased().hasPrefix(prefix.lowercased()) else { return nil }
        let rest = trimmed.dropFirst(prefix.count)
        guard rest.isEmpty || rest.first!.isWhitespace else { return nil }
        let words = rest.split(whereSeparator: \.isWhitespace).map(String.init)
        guard let verb = words.first?.lowercased() else { return .success(.help) }
        let args = Array(words.dropFirst())
        func fail(_ message: String) -> Result<BridgeCommand, ParseError> { .failure(ParseError(message: message)) }
        switch verb {
        case "persona":
            guard let sub = args.first?.lowercased() else { return .success(.personaShow) }
            let name = args.dropFirst().joined(separator: " ")
            switch sub {
            case "list": return .success(.personaList)
            case "show": return .success(.personaShow)
            case "off": return .success(.personaOff)
            case "import":
                // The card comes attached to the message; a URL argument names Matrix media (`mxc://…`).
                guard let url = args.dropFirst().first else { return .success(.personaImport(nil)) }
                let filename = url.split(separator: "/").last.map(String.init) ?? url
                return .success(.personaImport(ChatAttachment(url: url, filename: filename)))
            case "set", "add", "remove":
                guard !name.isEmpty else { return fail("Usage: \(prefix) persona \(sub) NAME") }
                return .success(sub == "set" ? .personaSet(name) : sub == "add" ? .personaAdd(name) : .personaRemove(name))
            default:
                return fail("Unknown persona command `\(sub)`. Use: list, show, set NAME, add NAME, remove NAME, off, import.")
            }
        case "reset": return .success(.reset)
        case "forget":
            guard args.count == 1, let n = Int(args[0]), n > 0 else { return fail("Usage: \(prefix) forget N (N a positive number)") }
            return .success(.forget(n))
        case "regenerate", "regen": return .success(.regenerate)
        case "continue": return .success(.continueReply)
        case "talkativeness":
            guard args.count == 1, let x = Double(args[0]), x >= 0, x <= 1 else {
                return fail("Usage: \(prefix) talkativeness X, with X from 0 (only when addressed) to 1 (always)")
            }
            return .success(.talkativeness(x))
        case "status": return .success(.status)
        case "help": return .success(.help)
        case "budget": return .success(.budget)
        case "lore": return LoreCommand.parse(args, prefix: prefix)
        case "memory": return MemoryCommand.parse(args, prefix: prefix)
        case "me": return PlayerCommand.parse(rest.drop(while: \.isWhitespace).dropFirst(verb.count), prefix: prefix)
        case "why":
            guard args.count <= 1 else { return fail("Usage: \(prefix) why [N] (N = 1 for the last reply, 2 for the one before…)") }
            guard let n = args.first.map({ Int($0) }) ?? 1, n > 0 else {
                return fail("Usage: \(prefix) why [N] (N = 1 for the last reply, 2 for the one before…)")
            }
            return .success(.why(n))
        case "stop": return .success(.stop)
        case "prev", "previous", "back": return .success(.previousAlternative)
        case "next":
            // Bare `next` flips the last reply's alternatives; with a name, that persona speaks next.
            return args.isEmpty ? .success(.nextAlternative) : .success(.scene(.next(args.joined(separator: " "))))
        case "scene": return SceneCommand.parse(args, prefix: prefix)
        case "mute", "unmute":
            guard !args.isEmpty else { return fail("Usage: \(prefix) \(verb) NAME") }
            let name = args.joined(separator: " ")
            return .success(.scene(verb == "mute" ? .mute(name) : .unmute(name)))
        default:
            return fail("Unknown command `\(verb)`. Try `\(prefix) help`.")
        }
    }

    /// One-line help.
    public static func help(prefix: String) -> String {
        "Commands: \(prefix) persona list|show|set NAME|add NAME|remove NAME|off · reset · forget N · regenerate · "
            + "continue · stop · prev · next · why [N] · talkativeness X · status · budget · persona import (attach a card) · "
            + "me set [--everywhere] NAME: description|show|clear · "
            + "lore list|show ENTRY|on NAME|off NAME|why|attach NAME|detach NAME · memory show|forget|add TEXT · "

            + "scene [activation natural|list|pooled|manual|off] · scene start TITLE [| PERSONA…] · scene end · mute NAME · unmute NAME · next NAME"
    }
}

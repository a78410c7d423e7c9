import Foundation

/// The `@@` decorator lines at the top of an entry's content (Character Card V3), parsed and stripped.
public struct LorebookDecorators: Hashable, Sendable {
    /// `@@depth N`: chat depth for at-depth insertion.
    public var depth: Int?
    /// `@@role system|user|assistant`.
    public var role: LorebookRole?
    /// `@@scan_depth N`: messages scanned for this entry.
    public var scanDepth: Int?
    /// `@@position before_desc|after_desc|…`: mapped where it has a meaning here.
    public var position: LorebookPosition?
    /// `@@activate_only_after N`: the chat needs at least N messages.
    public var activateOnlyAfter: Int?
    /// `@@activate_only_every N`: fires only when the message count is a multiple of N.
    public var activateOnlyEvery: Int?
    /// `@@activate`: fires without keys.
    public var activate = false
    /// `@@dont_activate`: never fires.
    public var dontActivate = false
    /// `@@additional_keys a,b`: more primary keys.
    public var additionalKeys: [String] = []
    /// `@@exclude_keys a,b`: the entry does not fire when any of these is found.
    public var excludeKeys: [String] = []
    /// Decorators not understood here (name and argument), kept for reports; `@@@` fallbacks included.
    public var unknown: [String] = []
    /// The content without the decorator lines.
    public var body: String

    /// Parses the leading `@@` lines of `content`; the rest is the body.
    public init(parsing content: String) {
        var lines = content.split(separator: "\n", omittingEmptySubsequences: false)[...]
        var parsed = LorebookDecorators(body: "")
        while let line = lines.first, line.hasPrefix("@@") {
            lines.removeFirst()
            if line.hasPrefix("@@@") {
                // Fallback decorators only apply when the preceding one is unsupported; all used here are supported.
                parsed.unknown.append(String(line.dropFirst(3)).trimmingCharacters(in: .whitespaces))
                continue
            }
            let text = line.dropFirst(2).trimmingCharacters(in: .whitespaces)
            let name = text.prefix { !$0.isWhitespace }.lowercased()
            let argument = text.dropFirst(name.count).trimmingCharacters(in: .whitespaces)
            let number = Int(argument)
            let list = argument.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            switch name {
            case "depth" where number != nil: parsed.depth = number
            case "scan_depth" where number != nil: parsed.scanDepth = number
            case "activate_only_after" where number != nil: parsed.activateOnlyAfter = number
            case "activate_only_every" where number.map({ $0 > 0 }) == true: parsed.activateOnlyEvery = number
            case "role" where ["system", "user", "assistant"].contains(argument.lowercased()):
                parsed.role = switch argument.lowercased() {
                case "user": .user
                case "assistant": .assistant
                default: .system
                }
            case "position" where ["before_desc", "after_desc"].contains(argument.lowercased()):
                parsed.position = argument.lowercased() == "before_desc" ? .beforeChar : .afterChar
            case "activate": parsed.activate = true
            case "dont_activate": parsed.dontActivate = true
            case "additional_keys": parsed.additionalKeys += list
            case "exclude_keys": parsed.excludeKeys += list
            default: parsed.unknown.append(text)
            }
        }
        parsed.body = lines.joined(separator: "\n")
        self = parsed
    }

    private init(body: String) { self.body = body }
}

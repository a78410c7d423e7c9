import Foundation

/// What card macros are expanded against: names, the chat (for `{{pick}}`), and the time (injected, for tests).
public struct CardMacroContext: Sendable {
    /// `{{char}}`.
    public var char: String
    /// `{{user}}`.
    public var user: String
    /// Seeds `{{pick}}`, so a pick stays the same for the whole chat.
    public var chatID: String
    /// `{{time}}` and `{{date}}`.
    public var now: Date
    /// The zone `{{time}}` and `{{date}}` are shown in.
    public var timeZone: TimeZone

    /// Creates a context.
    public init(char: String, user: String, chatID: String, now: Date, timeZone: TimeZone = .gmt) {
        self.char = char
        self.user = user
        self.chatID = chatID
        self.now = now
        self.timeZone = timeZone
    }
}

/// SillyTavern card macros: `{{char}}`, `{{user}}`, `{{random::a::b}}`, `{{pick::a::b}}` (stable per chat),
/// `{{roll:d20}}` (`NdM±K`), `{{// comment}}`, `{{time}}`, `{{date}}`; unknown macros are left as written.
public enum CardMacros {
    /// Expands every macro in `text`; `generator` drives `{{random}}` and `{{roll}}`.
    public static func expand<G: RandomNumberGenerator>(_ text: String, context: CardMacroContext, using generator: inout G) -> String {
        var output = ""
        var rest = text[...]
        var occurrence: UInt64 = 0
        while let open = rest.range(of: "{{") {
            output += rest[..<open.lowerBound]
            guard let close = rest[open.upperBound...].range(of: "}}") else {
                rest = rest[open.lowerBound...]
                break
            }
            let inner = String(rest[open.upperBound..<close.lowerBound])
            occurrence += 1
            output += expandOne(inner, context: context, occurrence: occurrence, generator: &generator) ?? "{{\(inner)}}"
            rest = rest[close.upperBound...]
        }
        return output + rest
    }

    private static func expandOne<G: RandomNumberGenerator>(
        _ inner: String, context: CardMacroContext, occurrence: UInt64, generator: inout G
    ) -> String? {
        let trimmed = inner.trimmingCharacters(in: .whitespaces)
        let lower = trimmed.lowercased()
        if trimmed.hasPrefix("//") { return "" }
        switch lower {
        case "char": return context.char
        case "user": return context.user
        case "time": return format(context.now, "h:mm a", context.timeZone)
        case "date": return format(context.now, "MMMM d, yyyy", context.timeZone)
        default: break
        }
        if lower.hasPrefix("random") || lower.hasPrefix("pick") {
            let isPick = lower.hasPrefix("pick")
            let body = trimmed.dropFirst(isPick ? 4 : 6)
            // `::a::b` is the current form; `:a,b` the older one.
            let options: [String] = body.hasPrefix("::")
                ? body.dropFirst(2).components(separatedBy: "::")
                : body.hasPrefix(":") ? body.dropFirst().components(separatedBy: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                : []
            guard !options.isEmpty else { return nil }
            if isPick {
                var seeded = SeededGenerator(seed: fnv1a(context.chatID) ^ (occurrence &* 0x9E37_79B9_7F4A_7C15) ^ fnv1a(body))
                return options[Int.random(in: 0..<options.count, using: &seeded)]
            }
            return options[Int.random(in: 0..<options.count, using: &generator)]
        }
        if lower.hasPrefix("roll") {
            let formula = lower.dropFirst(4).drop { $0 == ":" || $0 == " " }
            return roll(String(formula), using: &generator).map(String.init)
        }
        return nil
    }

    /// `NdM`, `dM`, `M`, each optionally `+K` / `-K`; nil when not a dice formula or absurdly large.
    static func roll<G: RandomNumberGenerator>(_ formula: String, using generator: inout G) -> Int? {
        var text = formula.replacingOccurrences(of: " ", with: "")
        var modifier = 0
        if let sign = text.lastIndex(where: { $0 == "+" || $0 == "-" }), sign != text.startIndex {
            guard let value = Int(text[text.index(after: sign)...]) else { return nil }
            modifier = text[sign] == "+" ? value : -value
            text = String(text[..<sign])
        }
        let parts = text.split(separator: "d", omittingEmptySubsequences: false)
        let count: Int, sides: Int
        switch parts.count {
        case 1:
            guard let value = Int(parts[0]) else { return nil }
            (count, sides) = (1, value)
        case 2:
            guard let value = Int(parts[1]) else { return nil }
            count = parts[0].isEmpty ? 1 : Int(parts[0]) ?? -1
            sides = value
        default:
            return nil
        }
        guard (1...100).contains(count), (1...1_000_000).contains(sides) else { return nil }
        return (0..<count).reduce(modifier) { total, _ in total + Int.random(in: 1...sides, using: &generator) }
    }

    private static func format(_ date: Date, _ pattern: String, _ zone: TimeZone) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = zone
        formatter.dateFormat = pattern
        return formatter.string(from: date)
    }

    /// FNV-1a: a hash that is the same in every process (Swift's `Hasher` is seeded per run).
    static func fnv1a<S: StringProtocol>(_ text: S) -> UInt64 {
        text.utf8.reduce(0xCBF2_9CE4_8422_2325) { ($0 ^ UInt64($1)) &* 0x0000_0100_0000_01B3 }
    }
}

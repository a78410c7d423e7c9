import BridgeConfig
import Foundation

/// Reads relay bots' messages (`[platforms.*] relays`): who really spoke, and what they said.
///
/// Pure: compiled once from the configuration, then only matched against messages.
public struct RelayMatcher: Sendable {
    /// What a message turned out to be.
    public enum Outcome: Hashable, Sendable {
        /// Not from a configured relay (or already credited): handled as it came.
        case direct
        /// From a relay, credited to the speaker it names; `relayedBy` holds the relay.
        case credited(IncomingMessage)
        /// From a relay but naming nobody (its own status line, or too long to read): recorded under the relay's
        /// name, never answered.
        case relayStatus
    }

    /// One relay of one platform, compiled.
    struct Rule: @unchecked Sendable {
        // Unchecked: `Regex` is an immutable value once compiled and matching does not mutate it; the standard
        // library does not yet declare it Sendable.
        let user: String
        let readsName: Bool
        let regex: Regex<AnyRegexOutput>
    }

    /// Longest input (characters) a pattern is matched against: user patterns may backtrack badly, and no relayed
    /// chat line needs more. Longer relayed messages are recorded under the relay's name.
    public static let maxInputLength = 4_096
    /// Longest credited name; longer ones are cut.
    static let maxNickLength = 64

    private let rules: [String: [Rule]]

    /// Compiles the relays of every platform, keyed by platform name; an entry that does not compile is skipped
    /// (the loader reports it, so a loaded configuration has none).
    public init(relays: [String: [RelaySettings]]) {
        var rules: [String: [Rule]] = [:]
        for (platform, entries) in relays {
            rules[platform] = entries.compactMap { entry in
                guard let regex = try? Regex(entry.pattern) else { return nil }
                let readsName: Bool
                switch entry.source {
                case .text: readsName = false
                case .authorName: readsName = true
                }
                // A relayed message may span lines (matterbridge into Discord or Matrix): `.` takes them all.
                return Rule(user: entry.user, readsName: readsName, regex: regex.dotMatchesNewlines())
            }
        }
        self.rules = rules.filter { !$0.value.isEmpty }
    }

    /// Whether any platform has a relay.
    public var isEmpty: Bool { rules.isEmpty }

    /// Whether `message` comes from a configured relay (and is not yet credited).
    public func isRelayed(_ message: IncomingMessage) -> Bool {
        rule(for: message) != nil
    }

    /// Credits a relay's message to the speaker it names.
    public func read(_ message: IncomingMessage) -> Outcome {
        guard let rule = rule(for: message) else { return .direct }
        let input = Self.clean(rule.readsName ? message.author.displayName : message.text)
        guard input.count <= Self.maxInputLength, let match = try? rule.regex.firstMatch(in: input),
              let rawNick = match.output["nick"]?.substring else { return .relayStatus }
        let nick = Self.nick(String(rawNick))
        let text: String
        if rule.readsName {
            text = message.text
        } else {
            guard let captured = match.output["text"]?.substring else { return .relayStatus }
            text = String(captured)
        }
        guard !nick.isEmpty, !text.allSatisfy(\.isWhitespace) else { return .relayStatus }
        var credited = message
        credited.author = ChatUser(id: "relay:\(message.author.identity):\(nick)", displayName: nick, isBot: false)
        credited.text = text
        credited.relayedBy = message.author
        return .credited(credited)
    }

    private func rule(for message: IncomingMessage) -> Rule? {
        guard message.relayedBy == nil, !message.isOwnMessage, let candidates = rules[message.channel.platform] else { return nil }
        let author = message.author
        let platform = message.channel.platform
        return candidates.first { rule in
            if rule.user == author.id || rule.user == author.stableID { return true }
            // IRC nicks compare without case.
            return platform == "irc" && rule.user.lowercased() == author.id.lowercased()
        }
    }

    /// The input without IRC formatting codes (colours, bold…), which relays wrap names in.
    static func clean(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: { $0.value < 0x20 && $0 != "\n" && $0 != "\t" }) else { return text }
        var result = String.UnicodeScalarView()
        var scalars = text.unicodeScalars[...]
        while let scalar = scalars.popFirst() {
            switch scalar.value {
            case 0x03:
                // Colour: up to two digits, optionally a comma and up to two more.
                scalars = dropDigits(scalars)
                if scalars.first == ",", let after = scalars.dropFirst().first, ("0"..."9").contains(after) {
                    scalars = dropDigits(scalars.dropFirst())
                }
            case 0x04:
                // Hex colour: up to six hex digits (a background after a comma is left as text).
                scalars = scalars.dropFirst(scalars.prefix(6).prefix { $0.properties.isASCIIHexDigit }.count)
            case 0x02, 0x0F, 0x11, 0x16, 0x1D, 0x1E, 0x1F, 0x0D, 0x00:
                continue
            default:
                result.append(scalar)
            }
        }
        return String(result)
    }

    private static func dropDigits(_ scalars: Substring.UnicodeScalarView) -> Substring.UnicodeScalarView {
        var rest = scalars
        var taken = 0
        while taken < 2, let digit = rest.first, ("0"..."9").contains(digit) {
            rest = rest.dropFirst()
            taken += 1
        }
        return rest
    }

    /// The credited name: trimmed, without the zero-width characters relays put in names so they do not ping,
    /// and cut to `maxNickLength`.
    static func nick(_ raw: String) -> String {
        let invisible: Set<Unicode.Scalar> = ["\u{200B}", "\u{200C}", "\u{200D}", "\u{2060}", "\u{FEFF}"]
        var scalars = String.UnicodeScalarView()
        scalars.append(contentsOf: raw.unicodeScalars.filter { !invisible.contains($0) && $0 != "\n" && $0 != "\r" })
        let name = String(scalars).trimmingCharacters(in: .whitespaces)
        return String(name.prefix(maxNickLength))
    }
}

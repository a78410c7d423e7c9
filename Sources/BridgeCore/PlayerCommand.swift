import Storage

/// `me …`: a player says which character they play, for this scene or everywhere on the platform.
public enum PlayerCommand: Hashable, Sendable {
    /// `me set [--everywhere] NAME: description`.
    case set(name: String, description: String, everywhere: Bool)
    /// `me show`: the character in effect here, and where it comes from.
    case show
    /// `me clear [--everywhere]`: forget this scene's character (or the platform-wide one).
    case clear(everywhere: Bool)

    /// Whether it changes anything (players change only their own character, so no moderator is needed).
    public var changesState: Bool { self != .show }

    /// Longest character name accepted, in characters.
    public static let maximumNameLength = 32

    /// The words that make a `set` or `clear` platform-wide.
    static let everywhereFlags: Set<String> = ["--everywhere", "--all", "—everywhere", "—all"]

    /// Parses what follows `me` (raw text, so a description keeps its line breaks).
    static func parse(_ text: Substring, prefix: String) -> Result<BridgeCommand, BridgeCommand.ParseError> {
        let usage = "Usage: \(prefix) me set [--everywhere] NAME: description · \(prefix) me show · \(prefix) me clear [--everywhere]"
        func fail(_ message: String) -> Result<BridgeCommand, BridgeCommand.ParseError> {
            .failure(BridgeCommand.ParseError(message: message))
        }
        var rest = text.drop(while: \.isWhitespace)
        let sub = rest.prefix(while: { !$0.isWhitespace }).lowercased()
        rest = rest.dropFirst(sub.count).drop(while: \.isWhitespace)
        var everywhere = false
        let flag = rest.prefix(while: { !$0.isWhitespace }).lowercased()
        if everywhereFlags.contains(flag) {
            everywhere = true
            rest = rest.dropFirst(flag.count).drop(while: \.isWhitespace)
        }
        switch sub {
        case "", "show":
            guard rest.isEmpty, !everywhere else { return fail(usage) }
            return .success(.me(.show))
        case "clear", "off":
            guard rest.isEmpty else { return fail(usage) }
            return .success(.me(.clear(everywhere: everywhere)))
        case "set":
            guard let colon = rest.firstIndex(of: ":") else {
                return fail("Give a name and a description: `\(prefix) me set Kael: a scarred ranger who trusts no one`.")
            }
            switch (sanitizedName(String(rest[..<colon])), sanitizedDescription(String(rest[rest.index(after: colon)...]))) {
            case (.failure(let error), _), (_, .failure(let error)): return .failure(error)
            case (.success(let name), .success(let description)):
                return .success(.me(.set(name: name, description: description, everywhere: everywhere)))
            }
        default:
            return fail("Unknown `me` command `\(sub)`. " + usage)
        }
    }

    /// A character name fit for the prompt and the channel: letters, digits, spaces and `' - .` only (so it cannot
    /// hold a line break, a role, markup, a ping or a `{{macro}}`), spaces collapsed, at most 32 characters.
    public static func sanitizedName(_ raw: String) -> Result<String, BridgeCommand.ParseError> {
        var out = ""
        var pendingSpace = false
        for character in raw {
            if character.isWhitespace || character == "_" {
                pendingSpace = !out.isEmpty
                continue
            }
            let allowed = character.isLetter || character.isNumber || "'’-.".contains(character)
                || character.unicodeScalars.allSatisfy { $0.properties.generalCategory == .nonspacingMark }
            guard allowed else { continue }
            if pendingSpace { out.append(" ") }
            pendingSpace = false
            out.append(character)
        }
        guard out.contains(where: { $0.isLetter || $0.isNumber }) else {
            return .failure(.init(message: "A character name needs letters or digits (spaces, ' - . are allowed too)."))
        }
        guard out.count <= maximumNameLength else {
            return .failure(.init(message: "A character name is at most \(maximumNameLength) characters; \"\(out.prefix(40))…\" is \(out.count)."))
        }
        return .success(out)
    }

    /// A description without control characters (line breaks and tabs become spaces), trimmed, 1…2,000 characters.
    public static func sanitizedDescription(_ raw: String) -> Result<String, BridgeCommand.ParseError> {
        var out = ""
        for character in raw {
            if character.isNewline || character == "\t" {
                out.append(" ")
            } else if character.unicodeScalars.allSatisfy({ $0.properties.generalCategory == .control || $0.properties.generalCategory == .format })
                        && character != "\u{200D}" {
                continue
            } else {
                out.append(character)
            }
        }
        let text = out.trimmingWhitespaceAndNewlines()
        guard !text.isEmpty else { return .failure(.init(message: "Add a description after the name: `NAME: who your character is`.")) }
        guard text.count <= PlayerPersona.maximumDescriptionLength else {
            return .failure(.init(message: "A description is at most 2,000 characters; yours has \(text.count)."))
        }
        return .success(text)
    }
}

import Foundation

/// Why a character card could not be imported.
public struct CharacterCardError: Error, Sendable, CustomStringConvertible {
    /// Error kinds.
    public struct Code: Hashable, Sendable {
        private let raw: String
        init(raw: String) { self.raw = raw }
        init(rawCode: String) { self.raw = rawCode }
        /// The input is not a JSON object.
        public static let invalidJSON = Code(raw: "invalidJSON")
        /// The JSON is not a recognised card or character file.
        public static let unknownFormat = Code(raw: "unknownFormat")
        /// A required field (name, some character text) is missing.
        public static let missingField = Code(raw: "missingField")
    }

    /// What went wrong.
    public let code: Code
    /// Human-readable detail.
    public let message: String
    /// Human-readable detail.
    public var description: String { message }
}

/// Imports Character Card V1/V2/V3 JSON and elizaOS character files into a `Persona`.
public enum CharacterCardImporter {
    /// The detected input format.
    public enum Format: String, Sendable {
        /// Character Card V1 (fields at the top level).
        case cardV1
        /// `chara_card_v2`.
        case cardV2
        /// `chara_card_v3`.
        case cardV3
        /// elizaOS character JSON.
        case eliza
    }

    /// Converts card JSON into a persona; `{{char}}` becomes the display name, `{{user}}` becomes "the user".
    public static func importPersona(json: Data) throws(CharacterCardError) -> (persona: Persona, format: Format) {
        guard let object = try? JSONSerialization.jsonObject(with: json), let root = object as? [String: Any] else {
            throw CharacterCardError(code: .invalidJSON, message: "the input is not a JSON object")
        }
        let spec = root["spec"] as? String
        if spec == "chara_card_v2" || spec == "chara_card_v3" {
            guard let data = root["data"] as? [String: Any] else {
                throw CharacterCardError(code: .missingField, message: "\(spec ?? "card") has no 'data' object")
            }
            return (try card(data), spec == "chara_card_v3" ? .cardV3 : .cardV2)
        }
        if root["bio"] != nil || root["messageExamples"] != nil || (root["system"] != nil && root["description"] == nil) {
            return (try eliza(root), .eliza)
        }
        if root["name"] != nil && (root["description"] != nil || root["personality"] != nil || root["mes_example"] != nil) {
            return (try card(root), .cardV1)
        }
        throw CharacterCardError(code: .unknownFormat,
                                 message: "not a Character Card (V1/V2/V3) or elizaOS character file")
    }

    /// Turns a display name into a persona id (`Captain Rhea` → `captain-rhea`).
    public static func identifier(for displayName: String) -> String {
        var id = ""
        for scalar in displayName.lowercased().unicodeScalars {
            if CharacterSet.alphanumerics.contains(scalar) && scalar.isASCII {
                id.unicodeScalars.append(scalar)
            } else if !id.isEmpty && !id.hasSuffix("-") {
                id += "-"
            }
        }
        while id.hasSuffix("-") { id.removeLast() }
        return id.isEmpty ? "persona" : id
    }

    /// Replaces `{{char}}` / `<BOT>` and `{{user}}` / `<USER>` (any case).
    static func macros(_ text: String, char: String, user: String = "the user") -> String {
        var result = text
        for (token, value) in [("{{char}}", char), ("<bot>", char), ("{{user}}", user), ("<user>", user),
                               ("{{original}}", "")] {
            result = result.replacingOccurrences(of: token, with: value, options: .caseInsensitive)
        }
        return result
    }

    private static func card(_ data: [String: Any]) throws(CharacterCardError) -> Persona {
        guard let displayName = (data["name"] as? String)?.trimmingCharacters(in: .whitespacesAndNewlines), !displayName.isEmpty else {
            throw CharacterCardError(code: .missingField, message: "the card has no name")
        }
        func field(_ key: String) -> String? {
            guard let text = (data[key] as? String)?.trimmingCharacters(in: .whitespacesAndNewlines), !text.isEmpty else { return nil }
            return macros(text, char: displayName)
        }
        var parts: [String] = []
        if let system = field("system_prompt") { parts.append(system) }
        if let description = field("description") { parts.append(description) }
        if let personality = field("personality") { parts.append("Personality: \(personality)") }
        if let scenario = field("scenario") { parts.append("Scenario: \(scenario)") }
        guard !parts.isEmpty else {
            throw CharacterCardError(code: .missingField, message: "the card for \(displayName) has no description, personality, scenario or system prompt")
        }
        let examples = (data["mes_example"] as? String).map { exampleDialogue($0, char: displayName) } ?? []
        var avatar: String?
        for case let asset as [String: Any] in (data["assets"] as? [Any]) ?? [] where asset["type"] as? String == "icon" {
            if let uri = asset["uri"] as? String, uri.hasPrefix("http://") || uri.hasPrefix("https://") { avatar = uri }
        }
        func texts(_ key: String) -> [String] {
            ((data[key] as? [Any]) ?? []).compactMap { ($0 as? String)?.trimmingCharacters(in: .whitespacesAndNewlines) }
                .filter { !$0.isEmpty }.map { macros($0, char: displayName) }
        }
        var persona = Persona(
            name: identifier(for: displayName), displayName: displayName,
            aliases: (data["nickname"] as? String).map { [$0] } ?? [], avatarURL: avatar,
            character: parts.joined(separator: "\n\n"), examples: Array(examples.prefix(3)),
            greeting: field("first_mes"))
        // M2-her takes 1-3 examples; the rest are kept in the persona file, not sent.
        persona.examplesExtra = Array(examples.dropFirst(3))
        persona.alternateGreetings = texts("alternate_greetings")
        persona.groupGreetings = texts("group_only_greetings")
        // Placed after the history, where the card asks and where it costs the prompt cache least.
        persona.postHistory = field("post_history_instructions")
        return persona
    }

    /// Splits `mes_example` into user/ai pairs: blocks separated by `<START>`, turns prefixed `{{user}}:` / `{{char}}:`.
    static func exampleDialogue(_ text: String, char: String) -> [PersonaExample] {
        var pairs: [PersonaExample] = []
        let blocks = text.components(separatedBy: "<START>").flatMap { $0.components(separatedBy: "<start>") }
        for block in blocks {
            var turns: [(isUser: Bool, text: String)] = []
            for rawLine in block.components(separatedBy: .newlines) {
                let line = rawLine.trimmingCharacters(in: .whitespaces)
                let lowered = line.lowercased()
                if let prefix = ["{{user}}:", "<user>:"].first(where: lowered.hasPrefix) {
                    turns.append((true, String(line.dropFirst(prefix.count))))
                } else if let prefix = ["{{char}}:", "<bot>:", "\(char.lowercased()):"].first(where: lowered.hasPrefix) {
                    turns.append((false, String(line.dropFirst(prefix.count))))
                } else if !turns.isEmpty {
                    turns[turns.count - 1].text += "\n" + rawLine
                }
            }
            var index = 0
            while index + 1 < turns.count {
                if turns[index].isUser && !turns[index + 1].isUser {
                    let user = macros(turns[index].text, char: char, user: "User").trimmingCharacters(in: .whitespacesAndNewlines)
                    let ai = macros(turns[index + 1].text, char: char, user: "User").trimmingCharacters(in: .whitespacesAndNewlines)
                    if !user.isEmpty && !ai.isEmpty { pairs.append(PersonaExample(user: user, ai: ai)) }
                    index += 2
                } else {
                    index += 1
                }
            }
        }
        return pairs
    }

    private static func eliza(_ root: [String: Any]) throws(CharacterCardError) -> Persona {
        guard let displayName = (root["name"] as? String)?.trimmingCharacters(in: .whitespacesAndNewlines), !displayName.isEmpty else {
            throw CharacterCardError(code: .missingField, message: "the character file has no name")
        }
        func lines(_ key: String) -> [String] {
            if let text = root[key] as? String { return [text] }
            return (root[key] as? [Any])?.compactMap { $0 as? String } ?? []
        }
        var parts: [String] = []
        parts += lines("system")
        parts += lines("bio")
        let lore = lines("lore")
        if !lore.isEmpty { parts.append("Background: " + lore.joined(separator: " ")) }
        let adjectives = lines("adjectives")
        if !adjectives.isEmpty { parts.append("Adjectives: " + adjectives.joined(separator: ", ")) }
        if let style = root["style"] as? [String: Any] {
            let rules = ((style["all"] as? [Any]) ?? []) + ((style["chat"] as? [Any]) ?? [])
            let texts = rules.compactMap { $0 as? String }
            if !texts.isEmpty { parts.append("Style: " + texts.joined(separator: " ")) }
        }
        let character = parts.map { macros($0, char: displayName) }.filter { !$0.isEmpty }.joined(separator: "\n\n")
        guard !character.isEmpty else {
            throw CharacterCardError(code: .missingField, message: "the character file for \(displayName) has no system or bio text")
        }
        var examples: [PersonaExample] = []
        for case let conversation as [Any] in (root["messageExamples"] as? [Any]) ?? [] {
            var pending: String?
            for case let message as [String: Any] in conversation {
                let speaker = (message["name"] as? String) ?? (message["user"] as? String) ?? ""
                guard let content = message["content"] as? [String: Any], let text = content["text"] as? String else { continue }
                let cleaned = macros(text, char: displayName, user: "User")
                    .replacingOccurrences(of: "{{user1}}", with: "User", options: .caseInsensitive)
                if speaker == displayName || speaker == (root["username"] as? String) || speaker.lowercased() == "{{agent}}" {
                    if let user = pending { examples.append(PersonaExample(user: user, ai: cleaned)) }
                    pending = nil
                } else {
                    pending = cleaned
                }
            }
        }
        return Persona(
            name: identifier(for: (root["username"] as? String) ?? displayName), displayName: displayName,
            character: character, examples: Array(examples.prefix(3)))
    }
}

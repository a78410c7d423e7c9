extension Persona {
    /// The persona as a `Bots/personas/*.toml` file (e.g. after importing a character card).
    public func tomlText() -> String {
        var lines: [String] = []
        lines.append("name = \(Self.quoted(name))")
        lines.append("display_name = \(Self.quoted(displayName))")
        if !aliases.isEmpty { lines.append("aliases = [\(aliases.map(Self.quoted).joined(separator: ", "))]") }
        if let avatarURL { lines.append("avatar_url = \(Self.quoted(avatarURL))") }
        if let actionMarker { lines.append("action_marker = \(Self.quoted(actionMarker))") }
        if let maxReplyCharacters { lines.append("max_reply_characters = \(maxReplyCharacters)") }
        if let greeting { lines.append("greeting = \(Self.quoted(greeting))") }
        if let contentRating { lines.append("content_rating = \(Self.quoted(contentRating.rawValue))") }
        if !alternateGreetings.isEmpty {
            lines.append("alternate_greetings = [\(alternateGreetings.map(Self.quoted).joined(separator: ", "))]")
        }
        if !groupGreetings.isEmpty { lines.append("group_greetings = [\(groupGreetings.map(Self.quoted).joined(separator: ", "))]") }
        lines.append("")
        lines.append("character = \(Self.multiline(character))")
        if let userSystemTemplate { lines.append("user_system = \(Self.quoted(userSystemTemplate))") }
        if let postHistory { lines.append("post_history = \(Self.quoted(postHistory))") }
        if let memoryPrompt { lines.append("memory_prompt = \(Self.quoted(memoryPrompt))") }
        if model != ModelOverrides() {
            lines.append("")
            lines.append("[model]")
            if let temperature = model.temperature { lines.append("temperature = \(temperature)") }
            if let topP = model.topP { lines.append("top_p = \(topP)") }
            if let maxOutputTokens = model.maxOutputTokens { lines.append("max_output_tokens = \(maxOutputTokens)") }
        }
        if trigger != TriggerOverrides() {
            lines.append("")
            lines.append("[trigger]")
            if let mode = trigger.mode { lines.append("mode = \(Self.quoted(mode.rawValue))") }
            if let talkativeness = trigger.talkativeness { lines.append("talkativeness = \(talkativeness)") }
            if let cooldown = trigger.cooldownSeconds { lines.append("cooldown_seconds = \(cooldown)") }
            if let turns = trigger.maxBotTurns { lines.append("max_bot_turns = \(turns)") }
            if let respond = trigger.respondToBots { lines.append("respond_to_bots = \(respond)") }
        }
        for (table, list) in [("examples", examples), ("examples_extra", examplesExtra)] {
            for example in list {
                lines.append("")
                lines.append("[[\(table)]]")
                lines.append("user = \(Self.quoted(example.user))")
                lines.append("ai = \(Self.quoted(example.ai))")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// A TOML basic string (`init` writes config values with it too).
    public static func quoted(_ text: String) -> String {
        "\"" + escape(text, keepNewlines: false) + "\""
    }

    /// A TOML multi-line basic string (newlines kept for readability).
    static func multiline(_ text: String) -> String {
        "\"\"\"\n" + escape(text, keepNewlines: true) + "\"\"\""
    }

    private static func escape(_ text: String, keepNewlines: Bool) -> String {
        var output = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\\": output += "\\\\"
            case "\"": output += "\\\""
            case "\n": output += keepNewlines ? "\n" : "\\n"
            case "\t": output += "\\t"
            case "\r": output += "\\r"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    output += "\\u" + String(repeating: "0", count: 4 - String(scalar.value, radix: 16).count)
                        + String(scalar.value, radix: 16)
                } else {
                    output.unicodeScalars.append(scalar)
                }
            }
        }
        return output
    }
}

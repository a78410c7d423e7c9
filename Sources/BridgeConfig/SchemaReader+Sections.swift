extension SchemaReader {
    /// Reads a `trigger` table into overrides.
    func triggerOverrides(_ table: [String: ConfigValue], at path: String) -> TriggerOverrides {
        checkKeys(table, at: path, known: ConfigSchema.trigger)
        var overrides = TriggerOverrides()
        if let text = string(table, "mode", at: path) {
            let mode = TriggerMode.parse(text)
            if mode.isKnown {
                overrides.mode = mode
            } else {
                let names = TriggerMode.known.map(\.rawValue)
                let near = Self.suggestion(for: text, among: names)
                report(Self.path(path, "mode"), "unknown trigger mode '\(text)'",
                       hint: near.map { "did you mean '\($0)'?" } ?? "use one of: \(names.joined(separator: ", "))")
            }
        }
        overrides.talkativeness = double(table, "talkativeness", at: path, range: 0...1)
        overrides.cooldownSeconds = double(table, "cooldown_seconds", at: path, range: 0...86_400)
        overrides.maxBotTurns = int(table, "max_bot_turns", at: path, range: 0...1_000)
        overrides.respondToBots = bool(table, "respond_to_bots", at: path)
        return overrides
    }

    /// Reads temperature / top_p / max_output_tokens with their API ranges.
    func modelOverrides(_ table: [String: ConfigValue], at path: String) -> ModelOverrides {
        ModelOverrides(
            temperature: double(table, "temperature", at: path, range: 0...1, openLower: true),
            topP: double(table, "top_p", at: path, range: 0...1, openLower: true),
            maxOutputTokens: int(table, "max_output_tokens", at: path, range: 1...2048))
    }
}

extension SchemaReader {
    /// The tables of an array-of-tables section such as `[[channels]]`, each with its key path (`channels[0]`) and
    /// its unknown keys reported; anything that is not a table is reported and skipped.
    func arrayOfTables(_ root: [String: ConfigValue], _ key: String, known: [String], noun: String) -> [(path: String, table: [String: ConfigValue])] {
        guard let value = root[key] else { return [] }
        guard case .array(let items) = value else {
            report(key, "expected [[\(key)]] tables, found \(value.typeName)", hint: "write each \(noun) as a [[\(key)]] section")
            return []
        }
        return items.enumerated().compactMap { index, item in
            let path = "\(key)[\(index)]"
            guard case .table(let table) = item else {
                report(path, "each \(noun) must be a table", hint: "write it as a [[\(key)]] section")
                return nil
            }
            checkKeys(table, at: path, known: known)
            return (path, table)
        }
    }

    /// The table's `platform`, when it names a known platform; otherwise reports the problem (with a suggestion).
    func platformName(_ table: [String: ConfigValue], at path: String, noun: String) -> String? {
        guard let text = string(table, "platform", at: path, nonEmpty: true) else {
            if table["platform"] == nil {
                report(path, "\(noun) has no 'platform'", hint: "add platform = \"console\" (or discord, irc, matrix)")
            }
            return nil
        }
        guard ConfigSchema.platformNames.contains(text) else {
            report("\(path).platform", "unknown platform '\(text)'",
                   hint: Self.suggestion(for: text, among: ConfigSchema.platformNames).map { "did you mean '\($0)'?" }
                       ?? "use one of: \(ConfigSchema.platformNames.joined(separator: ", "))")
            return nil
        }
        return text
    }
}

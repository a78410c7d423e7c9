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

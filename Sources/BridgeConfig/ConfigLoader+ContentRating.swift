extension ConfigLoader {
    /// `content_rating` of a persona file: `general` (default) or `mature`; anything else is an error.
    func readContentRating(_ root: [String: ConfigValue], _ reader: SchemaReader) -> ContentRating? {
        guard let text = reader.string(root, "content_rating", at: "") else { return nil }
        guard let rating = ContentRating(rawValue: text.lowercased()) else {
            reader.report("content_rating", "unknown content_rating \"\(text)\"",
                          hint: "use \"general\" (any channel, the default) or \"mature\" (age-restricted channels only)")
            return nil
        }
        return rating
    }

    /// A mature persona bound where it may not answer: an error on IRC and Matrix (the channel is not in
    /// `mature_channels`), a warning on Discord (only the live channel knows whether it is age-restricted), and an
    /// error on platforms with no age-restricted channels at all.
    func checkMatureBindings(_ configuration: BridgeConfiguration, _ reader: SchemaReader) {
        for binding in configuration.allBindings {
            let mature = binding.personas.filter { configuration.personas[$0]?.isMature == true }
            guard !mature.isEmpty else { continue }
            let names = mature.joined(separator: ", ")
            let plural = mature.count == 1 ? "persona" : "personas"
            let place = "\(binding.platform) channel '\(binding.channel)'"
            let keyPath = Self.bindingPath(line: binding.line, reader) + ".personas"
            switch binding.platform {
            case "discord":
                reader.append(ConfigDiagnostic(
                    severity: .warning, file: reader.file, line: binding.line, keyPath: keyPath,
                    message: "mature \(plural) \(names) bound to \(place) will answer only while Discord marks it age-restricted",
                    hint: "turn on \"Age-Restricted Channel\" in the channel's settings, or bind a general persona here"))
            case "irc", "matrix":
                if configuration.platforms[binding.platform]?.listsMatureChannel(binding.channel) == true { continue }
                reader.append(ConfigDiagnostic(
                    file: reader.file, line: binding.line, keyPath: keyPath,
                    message: "mature \(plural) \(names) bound to \(place), which is not listed as a mature channel",
                    hint: "add \"\(binding.channel)\" to [platforms.\(binding.platform)] mature_channels if it is for adults, "
                        + "or bind a general persona here"))
            default:
                reader.append(ConfigDiagnostic(
                    file: reader.file, line: binding.line, keyPath: keyPath,
                    message: "mature \(plural) \(names) bound to \(place); \(binding.platform) has no age-restricted channels",
                    hint: "mature personas answer only in Discord age-restricted channels and IRC/Matrix mature_channels"))
            }
        }
    }

    /// `[platforms.*] dm_personas`: every name must be a known persona (an error otherwise), and a mature one cannot
    /// answer in a direct message, which no platform marks age-restricted (an error too).
    func checkDirectPersonas(_ configuration: BridgeConfiguration, _ reader: SchemaReader) {
        for (platform, settings) in configuration.platforms.sorted(by: { $0.key < $1.key }) {
            let path = "platforms.\(platform).dm_personas"
            for name in settings.dmPersonas {
                guard let persona = configuration.personas[name] else {
                    let known = configuration.personas.keys.sorted().joined(separator: ", ")
                    reader.report(path, "unknown persona \"\(name)\" in dm_personas",
                                  hint: known.isEmpty ? "define the persona first" : "known personas: \(known)")
                    continue
                }
                if persona.isMature {
                    reader.report(path, "mature persona \"\(name)\" in dm_personas cannot answer in direct messages",
                                  hint: "direct messages are never age-restricted; list general personas only")
                }
            }
        }
    }

    /// `channels[N]` for the `[[channels]]` table starting at `line` (bindings that failed to load are not in the
    /// configuration, so the index is found in the file, not in the list).
    static func bindingPath(line: Int?, _ reader: SchemaReader) -> String {
        var index = 0
        while let found = reader.locator.line(of: "channels[\(index)]") {
            if found == line { return "channels[\(index)]" }
            index += 1
        }
        return "channels"
    }
}

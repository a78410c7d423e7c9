extension ConfigLoader {
    /// Keys of one `relays` entry.
    static let relayKeys = ["user", "pattern", "format"]
    /// Longest accepted `pattern`, in characters: a relay's prefix needs far less.
    static let maxRelayPatternLength = 512

    /// `[platforms.<name>] relays = [{user = "…", pattern = "…"} | {user = "…", format = "…"}]`: each entry checked
    /// (the pattern must compile and name the groups `nick` and `text`) and kept, normalised, as
    /// `{user, pattern, reads, format}` for `PlatformSettings.relays`; a bad entry is reported and left out.
    func readRelays(_ section: [String: ConfigValue], _ key: String, _ reader: SchemaReader, at platformPath: String) -> ConfigValue? {
        guard let value = section[key] else { return nil }
        let path = SchemaReader.path(platformPath, key)
        // Inline tables are not located line by line: problems inside an entry point at the `relays` line.
        let anchor = reader.locator.position(of: path)
        func report(_ keyPath: String, _ message: String, hint: String, severity: ConfigDiagnostic.Severity = .error) {
            reader.append(ConfigDiagnostic(severity: severity, file: reader.file, line: anchor?.line, column: anchor?.column,
                                           keyPath: keyPath, message: message, hint: hint))
        }
        let example = #"relays = [{user = "matterbridge", format = "matterbridge"}]"#
        guard case .array(let items) = value else {
            report(path, "expected a list of relay entries, found \(value.typeName)", hint: "write \(example)")
            return nil
        }
        var kept: [ConfigValue] = []
        var users: Set<String> = []
        for (index, item) in items.enumerated() {
            let entryPath = "\(path)[\(index)]"
            guard case .table(let table) = item else {
                report(entryPath, "each relay entry must be a table, found \(item.typeName)", hint: "write \(example)")
                continue
            }
            for unknown in table.keys.sorted() where !Self.relayKeys.contains(unknown) {
                let near = SchemaReader.suggestion(for: unknown, among: Self.relayKeys).map { "did you mean '\($0)'? " } ?? ""
                report("\(entryPath).\(unknown)", "unknown key '\(unknown)' in a relay entry",
                       hint: "\(near)known keys: \(Self.relayKeys.joined(separator: ", "))")
            }
            guard let user = table["user"]?.stringValue?.trimmingSpaces(), !user.isEmpty else {
                report("\(entryPath).user", "relay entry has no 'user' (a non-empty string)",
                       hint: "name the relay bot: its IRC nick or account:NAME, Discord user or webhook id, or Matrix user id")
                continue
            }
            if !users.insert(user).inserted {
                report("\(entryPath).user", "relay '\(user)' is listed twice; the first entry is used",
                       hint: "keep one entry per relay user", severity: .warning)
                continue
            }
            let format = table["format"]
            let pattern = table["pattern"]
            let settings: RelaySettings
            switch (format, pattern) {
            case (nil, nil), (.some, .some):
                report(entryPath, "relay '\(user)' needs exactly one of 'pattern' or 'format'",
                       hint: "use format = \"matterbridge\" or \"discord-webhook\", or your own pattern with (?<nick>…) and (?<text>…)")
                continue
            case (.some(let format), nil):
                let names = RelayFormat.allCases.map(\.rawValue)
                guard let name = format.stringValue, let known = RelayFormat(rawValue: name) else {
                    let near = format.stringValue.flatMap { SchemaReader.suggestion(for: $0, among: names) }
                    report("\(entryPath).format", "unknown relay format \(format.stringValue.map { "'\($0)'" } ?? format.typeName)",
                           hint: near.map { "did you mean '\($0)'?" } ?? "use one of: \(names.joined(separator: ", "))")
                    continue
                }
                settings = RelaySettings(user: user, format: known)
            case (nil, .some(let pattern)):
                guard let text = pattern.stringValue, !text.isEmpty else {
                    report("\(entryPath).pattern", "relay pattern must be a non-empty string",
                           hint: #"e.g. pattern = "^<(?<nick>[^>]+)> (?<text>.*)$""#)
                    continue
                }
                if let problem = Self.relayPatternProblem(text) {
                    report("\(entryPath).pattern", problem, hint: #"e.g. pattern = "^<(?<nick>[^>]+)> (?<text>.*)$""#)
                    continue
                }
                if Self.hasNestedQuantifier(text) {
                    report("\(entryPath).pattern", "relay pattern repeats a repeated group, which can take very long on some lines",
                           hint: "prefer a flat pattern such as ^<(?<nick>[^>]+)> (?<text>.*)$ (input is capped at 4,096 characters)",
                           severity: .warning)
                }
                settings = RelaySettings(user: user, source: .text(pattern: text))
            }
            var normalized: [String: ConfigValue] = ["user": .string(settings.user), "pattern": .string(settings.pattern)]
            if case .authorName = settings.source { normalized["reads"] = .string("name") }
            if let format = settings.format { normalized["format"] = .string(format.rawValue) }
            kept.append(.table(normalized))
        }
        return .array(kept)
    }

    /// Why a relay pattern cannot be used (too long, does not compile, lacks a group), nil when it can.
    static func relayPatternProblem(_ pattern: String) -> String? {
        if pattern.count > maxRelayPatternLength {
            return "relay pattern is longer than \(maxRelayPatternLength) characters"
        }
        let regex: Regex<AnyRegexOutput>
        do {
            regex = try Regex(pattern)
        } catch {
            return "relay pattern does not compile: \(error)"
        }
        let missing = ["nick", "text"].filter { !regex.contains(captureNamed: $0) }
        guard missing.isEmpty else {
            return "relay pattern has no named group \(missing.map { "(?<\($0)>…)" }.joined(separator: " or "))"
        }
        return nil
    }

    /// A rough look for a quantified group that itself holds a quantifier (`(a+)+`, `(\w*)*`), the shape that
    /// backtracks exponentially; only a warning, since many such patterns are harmless.
    static func hasNestedQuantifier(_ pattern: String) -> Bool {
        var stack: [Bool] = []  // per open group: whether it holds a quantifier
        var escaped = false
        var inClass = false
        let characters = Array(pattern)
        for (index, character) in characters.enumerated() {
            if escaped { escaped = false; continue }
            switch character {
            case "\\": escaped = true
            case "[" where !inClass: inClass = true
            case "]" where inClass: inClass = false
            case _ where inClass: break
            case "(": stack.append(false)
            case ")":
                let inner = stack.popLast() ?? false
                let next = index + 1 < characters.count ? characters[index + 1] : nil
                if inner, let next, next == "+" || next == "*" || next == "{" { return true }
                if inner, !stack.isEmpty { stack[stack.count - 1] = true }
                if let next, next == "+" || next == "*" || next == "{", !stack.isEmpty { stack[stack.count - 1] = true }
            case "+", "*", "{":
                if !stack.isEmpty { stack[stack.count - 1] = true }
            default: break
            }
        }
        return false
    }
}

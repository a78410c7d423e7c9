import Foundation

extension ConfigLoader {
    /// Loads a single persona file (a `Bots/personas/*.toml`).
    public func loadPersona(path: String) -> PersonaLoadResult {
        let absolute = ((path as NSString).expandingTildeInPath as NSString).standardizingPath
        guard let data = FileManager.default.contents(atPath: absolute) else {
            return PersonaLoadResult(persona: nil, diagnostics: [ConfigDiagnostic(
                file: absolute, message: "cannot read persona file", hint: "check that \(absolute) exists and is readable")])
        }
        guard let source = String(data: data, encoding: .utf8) else {
            return PersonaLoadResult(persona: nil, diagnostics: [ConfigDiagnostic(
                file: absolute, message: "persona file is not UTF-8 text", hint: "save it as UTF-8")])
        }
        return parsePersona(source: source, file: absolute)
    }

    /// Parses persona TOML text; `file` is used for diagnostics and the default name.
    public func parsePersona(source: String, file: String) -> PersonaLoadResult {
        let reader = SchemaReader(file: file, source: source, environment: environment)
        let root: [String: ConfigValue]
        switch ConfigValue.parseDocument(source) {
        case .success(let table): root = table
        case .failure(let error):
            return PersonaLoadResult(persona: nil, diagnostics: [ConfigDiagnostic(
                file: file, line: error.line, column: error.column, message: "TOML syntax error: \(error.message)",
                hint: "fix the TOML syntax at this position")])
        }
        reader.checkKeys(root, at: "", known: ConfigSchema.persona)
        let stem = ((file as NSString).lastPathComponent as NSString).deletingPathExtension
        let name = reader.string(root, "name", at: "", nonEmpty: true) ?? stem
        if root["name"] != nil, name != stem {
            reader.report("name", "persona name '\(name)' differs from its file name '\(stem).toml'",
                          hint: "rename the file to \(name).toml so bindings can find it", severity: .warning)
        }
        if !Self.isValidName(name) {
            reader.report("name", "persona name '\(name)' should contain only letters, digits, '-' and '_'",
                          hint: "use a short id such as 'marta'; put the pretty name in display_name")
        }
        let character = reader.string(root, "character", at: "", nonEmpty: true)
        if root["character"] == nil {
            reader.report("character", "missing 'character' (the persona's system prompt)",
                          hint: "add character = \"\"\"…\"\"\" describing who the persona is")
        }
        let examples = readExamples(root, "examples", reader)
        let examplesExtra = readExamples(root, "examples_extra", reader)
        let model = reader.table(root, "model", at: "").map { table -> ModelOverrides in
            reader.checkKeys(table, at: "model", known: ConfigSchema.personaModel)
            return reader.modelOverrides(table, at: "model")
        } ?? ModelOverrides()
        let trigger = reader.table(root, "trigger", at: "").map { reader.triggerOverrides($0, at: "trigger") } ?? TriggerOverrides()
        let userSystem = reader.string(root, "user_system", at: "", nonEmpty: true)
        for placeholder in Self.placeholders(in: userSystem ?? "") where !["{{char}}", "{{people}}"].contains(placeholder) {
            reader.report("user_system", "user_system uses \(placeholder), which is not replaced",
                          hint: "only {{char}} (display name) and {{people}} (who is present) are filled in", severity: .warning)
        }
        let persona = Persona(
            name: name,
            displayName: reader.string(root, "display_name", at: "", nonEmpty: true),
            aliases: reader.strings(root, "aliases", at: "") ?? [],
            avatarURL: reader.string(root, "avatar_url", at: "", nonEmpty: true),
            character: character ?? "",
            userSystemTemplate: userSystem,
            examples: examples,
            greeting: reader.string(root, "greeting", at: "", nonEmpty: true),
            model: model,
            trigger: trigger,
            maxReplyCharacters: reader.int(root, "max_reply_characters", at: "", range: 1...100_000),
            actionMarker: reader.string(root, "action_marker", at: "", nonEmpty: true),
            sourcePath: file)
        var extended = persona
        extended.alternateGreetings = reader.strings(root, "alternate_greetings", at: "") ?? []
        extended.groupGreetings = reader.strings(root, "group_greetings", at: "") ?? []
        extended.postHistory = reader.string(root, "post_history", at: "", nonEmpty: true)
        extended.memoryPrompt = reader.string(root, "memory_prompt", at: "", nonEmpty: true)
        extended.examplesExtra = examplesExtra
        extended.contentRating = readContentRating(root, reader)
        if extended.greeting == "random" && extended.alternateGreetings.isEmpty {
            reader.report("greeting", "greeting = \"random\" but there are no alternate_greetings to pick from",
                          hint: "add alternate_greetings = [\"…\"] or write the greeting itself", severity: .warning)
        }
        let failed = reader.diagnostics.contains { $0.severity == .error }
        return PersonaLoadResult(persona: failed ? nil : extended, diagnostics: reader.diagnostics)
    }

    /// `[[examples]]` or `[[examples_extra]]`: user/ai pairs.
    func readExamples(_ root: [String: ConfigValue], _ key: String, _ reader: SchemaReader) -> [PersonaExample] {
        var examples: [PersonaExample] = []
        if let value = root[key] {
            if case .array(let items) = value {
                for (index, item) in items.enumerated() {
                    let path = "\(key)[\(index)]"
                    guard case .table(let entry) = item else {
                        reader.report(path, "each example must be a table with 'user' and 'ai'",
                                      hint: "write [[examples]] then user = \"…\" and ai = \"…\"")
                        continue
                    }
                    reader.checkKeys(entry, at: path, known: ConfigSchema.example)
                    let user = reader.string(entry, "user", at: path, nonEmpty: true)
                    let ai = reader.string(entry, "ai", at: path, nonEmpty: true)
                    for (field, text) in [("user", user), ("ai", ai)] where entry[field] == nil && text == nil {
                        reader.report(path, "example is missing '\(field)'", hint: "add \(field) = \"…\" to this [[\(key)]] entry")
                    }
                    if let user, let ai { examples.append(PersonaExample(user: user, ai: ai)) }
                }
                if key == "examples" && items.count > 3 {
                    reader.report("examples", "\(items.count) examples; M2-her works best with 1-3",
                                  hint: "keep the three most characteristic exchanges", severity: .warning)
                }
            } else {
                reader.report(key, "expected [[\(key)]] tables, found \(value.typeName)",
                              hint: "write [[examples]] then user = \"…\" and ai = \"…\"")
            }
        }
        return examples
    }

    static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.unicodeScalars.allSatisfy {
            CharacterSet.alphanumerics.contains($0) || $0 == "-" || $0 == "_"
        }
    }

    static func placeholders(in text: String) -> [String] {
        var found: [String] = []
        var rest = Substring(text)
        while let open = rest.range(of: "{{"), let close = rest[open.upperBound...].range(of: "}}") {
            found.append(String(rest[open.lowerBound..<close.upperBound]))
            rest = rest[close.upperBound...]
        }
        return found
    }
}

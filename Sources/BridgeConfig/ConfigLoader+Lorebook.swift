import Foundation

extension ConfigLoader {
    /// Checks a lorebook file (`*.lore.json`, `lorebook_v3`, SillyTavern world info): a file that cannot be read is
    /// an error; a key that can never match (invalid regex, empty) or an entry that never fires is a warning naming
    /// the entry and the key (`entries[3].keys[1]`).
    public func checkLorebook(path: String) -> [ConfigDiagnostic] {
        guard let data = FileManager.default.contents(atPath: path) else {
            return [ConfigDiagnostic(file: path, message: "cannot read lorebook file",
                                     hint: "check that \(path) exists and is readable")]
        }
        let book: Lorebook
        do {
            book = try Lorebook.decode(json: data).book
        } catch {
            return [ConfigDiagnostic(file: path, message: "not a usable lorebook: \(error.message)",
                                     hint: "write it as {\"spec\": \"lorebook_v3\", \"data\": {\"entries\": […]}} or SillyTavern world info")]
        }
        return LorebookActivator(book: book).problems().map { problem in
            ConfigDiagnostic(
                severity: .warning, file: path, keyPath: "entries[\(problem.entryIndex)].\(problem.field)",
                message: "entry \"\(problem.entryLabel)\"" + (problem.key.map { ": key \"\($0)\"" } ?? "") + ": \(problem.message)",
                hint: problem.key == nil ? "add keys or mark the entry constant"
                    : "fix the key; /pattern/flags keys are regular expressions (flags i, m, s)")
        }
    }
}

extension SchemaReader {
    /// The table's `lorebooks` list, or nil (each unknown name reported with the path looked for) when one is unknown.
    func lorebookNames(_ table: [String: ConfigValue], at path: String, known: [String: Lorebook], directory: String) -> [String]? {
        let names = strings(table, "lorebooks", at: path) ?? []
        var valid = true
        for (index, name) in names.enumerated() where known[name] == nil {
            valid = false
            let available = known.keys.sorted()
            report("\(path).lorebooks[\(index)]",
                   "lorebook '\(name)' not found (looked for \((directory as NSString).appendingPathComponent("\(name).lore.json")))",
                   hint: "import one with `persona-bridge lore import FILE`; available: \(available.isEmpty ? "none" : available.joined(separator: ", "))")
        }
        return valid ? names : nil
    }
}

import Foundation

/// Reads typed values out of a parsed TOML table, recording a diagnostic for every problem.
///
/// Not Sendable: one reader per file, used on one task while loading.
final class SchemaReader {
    let file: String
    let locator: TOMLLocator
    let baseDirectory: String
    let environment: [String: String]
    private(set) var diagnostics: [ConfigDiagnostic] = []

    init(file: String, source: String, environment: [String: String]) {
        self.file = file
        self.locator = TOMLLocator(source: source)
        self.baseDirectory = (file as NSString).deletingLastPathComponent
        self.environment = environment
    }

    // MARK: reporting

    func report(_ path: String, _ message: String, hint: String? = nil, severity: ConfigDiagnostic.Severity = .error) {
        let position = locator.position(of: path)
        diagnostics.append(ConfigDiagnostic(
            severity: severity, file: file, line: position?.line, column: position?.column, keyPath: path,
            message: message, hint: hint))
    }

    func append(_ diagnostic: ConfigDiagnostic) { diagnostics.append(diagnostic) }

    static func path(_ parent: String, _ key: String) -> String { parent.isEmpty ? key : "\(parent).\(key)" }

    /// Reports keys of `table` not in `known`, suggesting the nearest known key.
    func checkKeys(_ table: [String: ConfigValue], at path: String, known: [String]) {
        for key in table.keys.sorted() where !known.contains(key) {
            let keyPath = Self.path(path, key)
            let where_ = path.isEmpty ? "at the top level" : "in [\(path)]"
            if let near = Self.suggestion(for: key, among: known) {
                report(keyPath, "unknown key '\(key)' \(where_)", hint: "did you mean '\(near)'?")
            } else {
                report(keyPath, "unknown key '\(key)' \(where_)", hint: "known keys: \(known.sorted().joined(separator: ", "))")
            }
        }
    }

    static func suggestion(for key: String, among known: [String]) -> String? {
        let lowered = key.lowercased()
        let scored = known.map { ($0, editDistance(lowered, $0.lowercased())) }.min { $0.1 < $1.1 }
        guard let (best, distance) = scored else { return nil }
        let allowed = max(2, key.count / 3)
        return distance <= allowed ? best : nil
    }

    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }

    private func typeError(_ path: String, expected: String, found: ConfigValue) {
        report(path, "expected \(expected), found \(found.typeName)", hint: "write it as \(Self.example(for: expected))")
    }

    private static func example(for expected: String) -> String {
        switch expected {
        case "a string": "key = \"text\""
        case "an integer": "key = 3"
        case "a number": "key = 0.5"
        case "a boolean": "key = true"
        case "an array of strings": "key = [\"a\", \"b\"]"
        case "an array of integers": "key = [0, 1]"
        default: "a [table] section"
        }
    }

    // MARK: typed reads

    func table(_ parent: [String: ConfigValue], _ key: String, at path: String) -> [String: ConfigValue]? {
        guard let value = parent[key] else { return nil }
        guard case .table(let table) = value else {
            typeError(Self.path(path, key), expected: "a table", found: value)
            return nil
        }
        return table
    }

    func string(_ parent: [String: ConfigValue], _ key: String, at path: String, nonEmpty: Bool = false) -> String? {
        guard let value = parent[key] else { return nil }
        guard case .string(let text) = value else {
            typeError(Self.path(path, key), expected: "a string", found: value)
            return nil
        }
        if nonEmpty && text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            report(Self.path(path, key), "'\(key)' must not be empty")
            return nil
        }
        return text
    }

    func bool(_ parent: [String: ConfigValue], _ key: String, at path: String) -> Bool? {
        guard let value = parent[key] else { return nil }
        guard case .bool(let flag) = value else {
            typeError(Self.path(path, key), expected: "a boolean", found: value)
            return nil
        }
        return flag
    }

    func int(_ parent: [String: ConfigValue], _ key: String, at path: String, range: ClosedRange<Int>? = nil) -> Int? {
        guard let value = parent[key] else { return nil }
        guard case .int(let number) = value else {
            typeError(Self.path(path, key), expected: "an integer", found: value)
            return nil
        }
        if let range, !range.contains(number) {
            let upper = range.upperBound == Int.max ? "" : "\(range.upperBound)"
            report(Self.path(path, key), "\(key) = \(number) is out of range \(range.lowerBound)...\(upper)",
                   hint: "use a value from \(range.lowerBound) to \(upper.isEmpty ? "any larger number" : upper)")
            return nil
        }
        return number
    }

    /// A number in `range`; `openLower` excludes the lower bound, as for temperature (0, 1].
    func double(
        _ parent: [String: ConfigValue], _ key: String, at path: String, range: ClosedRange<Double>? = nil,
        openLower: Bool = false
    ) -> Double? {
        guard let value = parent[key] else { return nil }
        guard let number = value.doubleValue else {
            typeError(Self.path(path, key), expected: "a number", found: value)
            return nil
        }
        if let range {
            let tooLow = openLower ? number <= range.lowerBound : number < range.lowerBound
            if tooLow || number > range.upperBound || number.isNaN {
                let shown = "\(openLower ? "(" : "[")\(Self.format(range.lowerBound)), \(range.upperBound == .infinity ? "∞)" : Self.format(range.upperBound) + "]")"
                report(Self.path(path, key), "\(key) = \(Self.format(number)) is out of range \(shown)",
                       hint: openLower ? "use a value above \(Self.format(range.lowerBound)) and at most \(Self.format(range.upperBound))"
                                       : "use a value from \(Self.format(range.lowerBound)) to \(Self.format(range.upperBound))")
                return nil
            }
        }
        return number
    }

    static func format(_ number: Double) -> String {
        number == number.rounded() && abs(number) < 1e15 ? String(Int(number)) : String(number)
    }

    func strings(_ parent: [String: ConfigValue], _ key: String, at path: String) -> [String]? {
        guard let value = parent[key] else { return nil }
        guard case .array(let items) = value else {
            typeError(Self.path(path, key), expected: "an array of strings", found: value)
            return nil
        }
        var result: [String] = []
        for item in items {
            guard case .string(let text) = item else {
                typeError(Self.path(path, key), expected: "an array of strings", found: item)
                return nil
            }
            result.append(text)
        }
        return result
    }

    func ints(_ parent: [String: ConfigValue], _ key: String, at path: String) -> [Int]? {
        guard let value = parent[key] else { return nil }
        guard case .array(let items) = value, items.allSatisfy({ $0.intValue != nil }) else {
            typeError(Self.path(path, key), expected: "an array of integers", found: value)
            return nil
        }
        return items.compactMap(\.intValue)
    }

    /// Resolves a path relative to the config file's directory.
    func absolutePath(_ path: String) -> String {
        let expanded = (path as NSString).expandingTildeInPath
        if expanded.hasPrefix("/") { return (expanded as NSString).standardizingPath }
        return ((baseDirectory as NSString).appendingPathComponent(expanded) as NSString).standardizingPath
    }

    // MARK: secrets and ${VAR}

    /// Expands every `${VAR}` in a non-secret string; a missing variable is reported when `required`.
    func expand(_ text: String, at path: String, required: Bool) -> String {
        var output = ""
        var rest = Substring(text)
        while let start = rest.range(of: "${") {
            output += rest[rest.startIndex..<start.lowerBound]
            guard let end = rest[start.upperBound...].firstIndex(of: "}") else {
                output += rest[start.lowerBound...]
                rest = ""
                break
            }
            let name = String(rest[start.upperBound..<end])
            if let value = environment[name] {
                output += value
            } else if required {
                report(path, "environment variable \(name) is not set", hint: "export \(name)=… before starting, or change \(path)")
            }
            rest = rest[rest.index(after: end)...]
        }
        return output + rest
    }

    /// Reads secret `key` given as `key = "${VAR}"` or `key_file = "path"`; never echoes the value.
    func secret(_ table: [String: ConfigValue], _ key: String, at path: String, required: Bool) -> ConfigSecret? {
        let keyPath = Self.path(path, key)
        let fileKey = key + "_file"
        let filePath = Self.path(path, fileKey)
        let inline = table[key]
        let file = string(table, fileKey, at: path)
        if inline != nil && file != nil {
            report(keyPath, "both '\(key)' and '\(fileKey)' are set", hint: "keep only one of them")
            return nil
        }
        if let inline {
            guard case .string(let text) = inline else {
                report(keyPath, "expected a string like \"${ENV_VAR}\", found \(inline.typeName)",
                       hint: "write \(key) = \"${VAR_NAME}\" or \(fileKey) = \"path/to/file\"")
                return nil
            }
            let trimmed = text.trimmingCharacters(in: .whitespaces)
            guard trimmed.hasPrefix("${"), trimmed.hasSuffix("}"), trimmed.count > 3 else {
                report(keyPath, "secrets must not be written into the config file",
                       hint: "put the value in an environment variable and write \(key) = \"${VAR_NAME}\", or use \(fileKey)")
                return nil
            }
            let name = String(trimmed.dropFirst(2).dropLast())
            guard required else { return nil }
            guard let value = environment[name], !value.isEmpty else {
                report(keyPath, "environment variable \(name) is not set", hint: "export \(name)=… or set \(fileKey) instead")
                return nil
            }
            return ConfigSecret(value, source: "env \(name)")
        }
        if let file {
            guard required else { return nil }
            return readSecretFile(file, at: filePath)
        }
        return nil
    }

    func readSecretFile(_ file: String, at path: String) -> ConfigSecret? {
        let absolute = absolutePath(file)
        guard let data = FileManager.default.contents(atPath: absolute) else {
            report(path, "cannot read secret file \(absolute)", hint: "create the file or fix the path (relative paths start at \(baseDirectory))")
            return nil
        }
        guard let text = String(data: data, encoding: .utf8) else {
            report(path, "secret file \(absolute) is not UTF-8 text", hint: "store the secret as plain text")
            return nil
        }
        let value = text.trimmingCharacters(in: .newlines)
        guard !value.isEmpty else {
            report(path, "secret file \(absolute) is empty", hint: "write the secret into the file")
            return nil
        }
        return ConfigSecret(value, source: "file \(absolute)")
    }
}

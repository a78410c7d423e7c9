/// One problem found while loading configuration, with where it is and how to fix it.
public struct ConfigDiagnostic: Hashable, Sendable, CustomStringConvertible {
    /// How bad it is.
    public enum Severity: String, Hashable, Sendable {
        /// The configuration cannot be used.
        case error
        /// Usable, but probably not what was meant.
        case warning
    }

    /// Error or warning.
    public var severity: Severity
    /// The file the problem is in.
    public var file: String
    /// 1-based line, when known.
    public var line: Int?
    /// 1-based column, when known.
    public var column: Int?
    /// Dotted key path, e.g. `model.temperature` or `channels[2].personas`.
    public var keyPath: String
    /// What is wrong (never contains a secret value).
    public var message: String
    /// How to fix it.
    public var hint: String?

    /// Creates a diagnostic.
    public init(
        severity: Severity = .error, file: String, line: Int? = nil, column: Int? = nil, keyPath: String = "",
        message: String, hint: String? = nil
    ) {
        self.severity = severity
        self.file = file
        self.line = line
        self.column = column
        self.keyPath = keyPath
        self.message = message
        self.hint = hint
    }

    /// `file:line:col: error: message (hint: …)`.
    public var description: String { formatted() }

    /// Formats as `file:line:col: severity: [key] message (hint: …)`, with `file` shown relative to `base` if given.
    public func formatted(relativeTo base: String? = nil) -> String {
        var location = file
        if let base, !base.isEmpty {
            let prefix = base.hasSuffix("/") ? base : base + "/"
            if location.hasPrefix(prefix) { location.removeFirst(prefix.count) }
        }
        if let line {
            location += ":\(line)"
            if let column { location += ":\(column)" }
        }
        var text = "\(location): \(severity.rawValue): "
        if !keyPath.isEmpty { text += "\(keyPath): " }
        text += message
        if let hint { text += " (hint: \(hint))" }
        return text
    }
}

/// Formats diagnostics for `persona-bridge check`: one line each, then a summary line.
public func checkReport(_ diagnostics: [ConfigDiagnostic], relativeTo base: String? = nil) -> String {
    let sorted = diagnostics.sorted {
        ($0.file, $0.line ?? 0, $0.column ?? 0) < ($1.file, $1.line ?? 0, $1.column ?? 0)
    }
    var lines = sorted.map { $0.formatted(relativeTo: base) }
    let errors = diagnostics.filter { $0.severity == .error }.count
    let warnings = diagnostics.count - errors
    if diagnostics.isEmpty {
        lines.append("configuration OK: no problems found")
    } else {
        lines.append("\(errors) error\(errors == 1 ? "" : "s"), \(warnings) warning\(warnings == 1 ? "" : "s")")
    }
    return lines.joined(separator: "\n")
}

import TOMLKit

extension ConfigValue {
    /// Copies a TOMLKit value into a plain Sendable value.
    init(toml value: TOMLValue) {
        switch value.type {
        case .string: self = .string(value.string ?? "")
        case .int: self = .int(value.int ?? 0)
        case .double: self = .double(value.double ?? 0)
        case .bool: self = .bool(value.bool ?? false)
        case .array: self = .array(value.array.map { $0.map { ConfigValue(toml: $0.tomlValue) } } ?? [])
        case .table: self = .table(value.table.map(ConfigValue.entries(of:)) ?? [:])
        case .date, .time, .dateTime: self = .dateTime(value.debugDescription)
        }
    }

    /// Copies a TOMLKit table's entries.
    static func entries(of table: TOMLTable) -> [String: ConfigValue] {
        var entries: [String: ConfigValue] = [:]
        for key in table.keys {
            if let value = table[key] { entries[key] = ConfigValue(toml: value.tomlValue) }
        }
        return entries
    }

    /// Parses TOML text; on a syntax error returns the message and position.
    static func parseDocument(_ text: String) -> Result<[String: ConfigValue], TOMLSyntaxError> {
        do {
            return .success(entries(of: try TOMLTable(string: text)))
        } catch let error as TOMLParseError {
            return .failure(TOMLSyntaxError(
                message: error.description, line: error.source.begin.line, column: error.source.begin.column))
        } catch {
            return .failure(TOMLSyntaxError(message: "\(error)", line: nil, column: nil))
        }
    }
}

/// A TOML syntax error with its position.
struct TOMLSyntaxError: Error {
    var message: String
    var line: Int?
    var column: Int?
}

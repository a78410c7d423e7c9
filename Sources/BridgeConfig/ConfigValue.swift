/// A plain, Sendable copy of a TOML value.
public enum ConfigValue: Hashable, Sendable {
    /// A string.
    case string(String)
    /// An integer.
    case int(Int)
    /// A float.
    case double(Double)
    /// A boolean.
    case bool(Bool)
    /// A date, time or date-time, kept as its TOML text.
    case dateTime(String)
    /// An array.
    case array([ConfigValue])
    /// A table (keys unordered).
    case table([String: ConfigValue])

    /// The string, if this is one.
    public var stringValue: String? { if case .string(let s) = self { s } else { nil } }
    /// The integer, if this is one.
    public var intValue: Int? { if case .int(let i) = self { i } else { nil } }
    /// The number as a Double (ints widen).
    public var doubleValue: Double? {
        switch self {
        case .double(let d): d
        case .int(let i): Double(i)
        default: nil
        }
    }
    /// The boolean, if this is one.
    public var boolValue: Bool? { if case .bool(let b) = self { b } else { nil } }
    /// The elements, if this is an array.
    public var arrayValue: [ConfigValue]? { if case .array(let a) = self { a } else { nil } }
    /// The entries, if this is a table.
    public var tableValue: [String: ConfigValue]? { if case .table(let t) = self { t } else { nil } }

    /// A short type name for messages ("string", "integer", ...).
    public var typeName: String {
        switch self {
        case .string: "string"
        case .int: "integer"
        case .double: "float"
        case .bool: "boolean"
        case .dateTime: "date-time"
        case .array: "array"
        case .table: "table"
        }
    }
}

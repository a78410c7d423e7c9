import Foundation

/// A JSON value read tolerantly: wrong shapes become `nil` on access instead of failing the whole document.
public enum MatrixJSON: Hashable, Sendable {
    /// `null`.
    case null
    /// `true` / `false`.
    case bool(Bool)
    /// Any number.
    case number(Double)
    /// A string.
    case string(String)
    /// An array.
    case array([MatrixJSON])
    /// An object.
    case object([String: MatrixJSON])

    /// Parses bytes; throws only when they are not JSON at all.
    public static func parse(_ bytes: [UInt8]) throws -> MatrixJSON {
        try JSONDecoder().decode(MatrixJSON.self, from: Data(bytes))
    }

    /// Member of an object, `nil` for other shapes.
    public subscript(key: String) -> MatrixJSON? {
        if case .object(let o) = self { return o[key] }
        return nil
    }

    /// The string, if this is one.
    public var string: String? { if case .string(let s) = self { s } else { nil } }
    /// The number as an integer, if this is a finite number in range.
    public var int: Int? {
        if case .number(let n) = self, n.isFinite, n >= -9.0e15, n <= 9.0e15 { return Int(n) }
        return nil
    }
    /// The boolean, if this is one.
    public var bool: Bool? { if case .bool(let b) = self { b } else { nil } }
    /// The elements, if this is an array.
    public var array: [MatrixJSON]? { if case .array(let a) = self { a } else { nil } }
    /// The members, if this is an object.
    public var object: [String: MatrixJSON]? { if case .object(let o) = self { o } else { nil } }

    /// Serialises to compact JSON bytes.
    public var bytes: [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? Array(encoder.encode(self))) ?? Array("null".utf8)
    }
}

extension MatrixJSON: Codable {
    /// Decodes any JSON value.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let n = try? c.decode(Double.self) { self = .number(n) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([MatrixJSON].self) { self = .array(a) }
        else { self = .object(try c.decode([String: MatrixJSON].self)) }
    }

    /// Encodes the value; whole numbers are written without a fraction.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case .bool(let b): try c.encode(b)
        case .number(let n):
            if n.isFinite, n == n.rounded(), abs(n) < 9.0e15 { try c.encode(Int64(n)) } else { try c.encode(n) }
        case .string(let s): try c.encode(s)
        case .array(let a): try c.encode(a)
        case .object(let o): try c.encode(o)
        }
    }
}

extension MatrixJSON: ExpressibleByStringLiteral, ExpressibleByDictionaryLiteral, ExpressibleByArrayLiteral,
    ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral, ExpressibleByFloatLiteral
{
    /// A string literal.
    public init(stringLiteral value: String) { self = .string(value) }
    /// An object literal.
    public init(dictionaryLiteral elements: (String, MatrixJSON)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { $1 }))
    }
    /// An array literal.
    public init(arrayLiteral elements: MatrixJSON...) { self = .array(elements) }
    /// An integer literal.
    public init(integerLiteral value: Int) { self = .number(Double(value)) }
    /// A floating-point literal.
    public init(floatLiteral value: Double) { self = .number(value) }
    /// A boolean literal.
    public init(booleanLiteral value: Bool) { self = .bool(value) }
}

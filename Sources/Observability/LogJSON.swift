/// A log line's JSON value, written with its keys in plain code-point order.
///
/// Not `JSONSerialization`: its sorted keys compare through a `Locale`, which on Linux loads ICU and its data,
/// about 3 MB of resident memory for a process that otherwise never needs them.
enum LogJSON: Sendable, Equatable {
    case string(String)
    case array([LogJSON])
    case object([String: LogJSON])

    /// Appends the value's JSON text to `out`.
    func write(to out: inout String) {
        switch self {
        case .string(let text):
            Self.writeString(text, to: &out)
        case .array(let items):
            out.append("[")
            for (index, item) in items.enumerated() {
                if index > 0 { out.append(",") }
                item.write(to: &out)
            }
            out.append("]")
        case .object(let fields):
            out.append("{")
            // Byte order of the UTF-8 keys: the same for every locale, and what a reader sorting keys expects.
            for (index, key) in fields.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }).enumerated() {
                if index > 0 { out.append(",") }
                Self.writeString(key, to: &out)
                out.append(":")
                fields[key]!.write(to: &out)
            }
            out.append("}")
        }
    }

    /// RFC 8259 string escaping: quote, backslash and every control character; the rest is written as is.
    private static func writeString(_ text: String, to out: inout String) {
        out.append("\"")
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out.append("\\\"")
            case "\\": out.append("\\\\")
            case "\n": out.append("\\n")
            case "\r": out.append("\\r")
            case "\t": out.append("\\t")
            case "\u{08}": out.append("\\b")
            case "\u{0C}": out.append("\\f")
            case _ where scalar.value < 0x20 || scalar.value == 0x7F || scalar == "\u{2028}" || scalar == "\u{2029}":
                let hex = String(scalar.value, radix: 16)
                out.append("\\u" + String(repeating: "0", count: 4 - hex.count) + hex)
            default:
                out.unicodeScalars.append(scalar)
            }
        }
        out.append("\"")
    }
}

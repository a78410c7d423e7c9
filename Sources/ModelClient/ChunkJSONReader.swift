/// Reads the fields `ModelStreamDecoder` needs from one JSON chunk in a single pass, skipping
/// everything else without building a document tree: the hot path of streaming (one call per token).
///
/// It is a strict JSON reader (malformed input throws) but lenient about types: a field of an
/// unexpected type is skipped and read as absent.
struct ChunkJSONReader {
    /// Why the bytes are not a JSON chunk.
    struct Failure: Error, Sendable {
        let message: String
        let offset: Int
    }

    /// Deepest nesting of objects and arrays accepted; deeper input fails instead of exhausting the stack.
    static let maximumDepth = 64

    private let bytes: UnsafeBufferPointer<UInt8>
    private var index = 0
    private var depth = 0

    private init(_ bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    /// Parses one chunk.
    static func read(_ input: [UInt8]) throws(Failure) -> WireChunk {
        let result: Result<WireChunk, Failure> = input.withUnsafeBufferPointer { buffer in
            var reader = ChunkJSONReader(buffer)
            do throws(Failure) {
                let chunk = try reader.readTop()
                return .success(chunk)
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    // MARK: - Fields

    private mutating func readTop() throws(Failure) -> WireChunk {
        var chunk = WireChunk()
        skipWhitespace()
        try readObject { (reader: inout ChunkJSONReader, key: Key) throws(Failure) in
            if key == "choices" {
                try reader.readArray { (reader: inout ChunkJSONReader, position: Int) throws(Failure) in
                    if position == 0, reader.peek == UInt8(ascii: "{") {
                        chunk.choice = try reader.readChoice()
                    } else {
                        try reader.skipValue()
                    }
                }
            } else if key == "usage" {
                if reader.peek == UInt8(ascii: "{") { chunk.usage = try reader.readUsage() } else { try reader.skipValue() }
            } else if key == "error" {
                chunk.error = try reader.readError()
            } else if key == "base_resp" {
                if reader.peek == UInt8(ascii: "{") { chunk.baseResp = try reader.readBaseResp() } else { try reader.skipValue() }
            } else if key == "input_sensitive" {
                chunk.inputSensitive = try reader.readFlag()
            } else if key == "output_sensitive" {
                chunk.outputSensitive = try reader.readFlag()
            } else {
                try reader.skipValue()
            }
        }
        skipWhitespace()
        guard index == bytes.count else { throw failure("unexpected data after the JSON object") }
        return chunk
    }

    private mutating func readChoice() throws(Failure) -> WireChoice {
        var choice = WireChoice()
        try readObject { (reader: inout ChunkJSONReader, key: Key) throws(Failure) in
            if key == "delta" {
                if reader.peek == UInt8(ascii: "{") {
                    choice.hasDelta = true
                    choice.deltaContent = try reader.readContent()
                } else {
                    try reader.skipValue()
                }
            } else if key == "message" {
                if reader.peek == UInt8(ascii: "{") { choice.messageContent = try reader.readContent() } else { try reader.skipValue() }
            } else if key == "finish_reason" {
                choice.finishReason = try reader.readOptionalString()
            } else {
                try reader.skipValue()
            }
        }
        return choice
    }

    private mutating func readContent() throws(Failure) -> String? {
        var content: String?
        try readObject { (reader: inout ChunkJSONReader, key: Key) throws(Failure) in
            if key == "content" { content = try reader.readOptionalString() } else { try reader.skipValue() }
        }
        return content
    }

    private mutating func readUsage() throws(Failure) -> WireUsage {
        var usage = WireUsage()
        try readObject { (reader: inout ChunkJSONReader, key: Key) throws(Failure) in
            if key == "prompt_tokens" {
                usage.promptTokens = try reader.readOptionalInt()
            } else if key == "completion_tokens" {
                usage.completionTokens = try reader.readOptionalInt()
            } else if key == "prompt_tokens_details", reader.peek == UInt8(ascii: "{") {
                try reader.readObject { (reader: inout ChunkJSONReader, key: Key) throws(Failure) in
                    if key == "cached_tokens" { usage.cachedTokens = try reader.readOptionalInt() } else { try reader.skipValue() }
                }
            } else {
                try reader.skipValue()
            }
        }
        return usage
    }

    private mutating func readError() throws(Failure) -> WireError? {
        switch peek {
        case UInt8(ascii: "{"):
            var error = WireError()
            try readObject { (reader: inout ChunkJSONReader, key: Key) throws(Failure) in
                if key == "code" {
                    error.code = try reader.readScalarText()
                } else if key == "message" {
                    error.message = try reader.readOptionalString()
                } else if key == "type" {
                    error.type = try reader.readOptionalString()
                } else {
                    try reader.skipValue()
                }
            }
            return error
        case UInt8(ascii: "\""):
            return WireError(code: nil, message: try readString(), type: nil)
        default:
            try skipValue()  // null or something odd: no error
            return nil
        }
    }

    private mutating func readBaseResp() throws(Failure) -> WireBaseResp {
        var base = WireBaseResp()
        try readObject { (reader: inout ChunkJSONReader, key: Key) throws(Failure) in
            if key == "status_code" {
                base.statusCode = try reader.readOptionalInt()
            } else if key == "status_msg" {
                base.statusMsg = try reader.readOptionalString()
            } else {
                try reader.skipValue()
            }
        }
        return base
    }

    /// `true`/`false`, or a number (non-zero is true); anything else is false.
    private mutating func readFlag() throws(Failure) -> Bool {
        switch peek {
        case UInt8(ascii: "t"):
            try expectLiteral("true")
            return true
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return (try readNumberText()).contains { $0 != "0" && $0 != "." && $0 != "-" }
        default:
            try skipValue()
            return false
        }
    }

    // MARK: - Typed values

    private mutating func readOptionalString() throws(Failure) -> String? {
        if peek == UInt8(ascii: "\"") { return try readString() }
        try skipValue()
        return nil
    }

    private mutating func readOptionalInt() throws(Failure) -> Int? {
        switch peek {
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            let text = try readNumberText()
            if let value = Int(text) { return value }
            if let value = Double(text), value.isFinite, value.rounded() == value, abs(value) < 1e15 { return Int(value) }
            return nil
        default:
            try skipValue()
            return nil
        }
    }

    /// A string or number as text (error codes come as either).
    private mutating func readScalarText() throws(Failure) -> String? {
        switch peek {
        case UInt8(ascii: "\""): return try readString()
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try readNumberText()
        default:
            try skipValue()
            return nil
        }
    }

    // MARK: - Structure

    /// An object key as raw bytes, compared without allocating.
    struct Key {
        let bytes: UnsafeBufferPointer<UInt8>
        let decoded: String?

        static func == (key: Key, name: StaticString) -> Bool {
            if let decoded = key.decoded { return decoded == name.description }
            guard key.bytes.count == name.utf8CodeUnitCount else { return false }
            let pointer = name.utf8Start
            for offset in 0..<key.bytes.count where key.bytes[offset] != pointer[offset] { return false }
            return true
        }
    }

    /// The next non-whitespace byte, or 0 at the end (0 never starts a JSON token).
    private var peek: UInt8 {
        mutating get {
            skipWhitespace()
            return index < bytes.count ? bytes[index] : 0
        }
    }

    private mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    private func failure(_ message: String) -> Failure { Failure(message: message, offset: index) }

    private mutating func expect(_ byte: UInt8) throws(Failure) {
        skipWhitespace()
        guard index < bytes.count, bytes[index] == byte else {
            throw failure("expected '\(Character(Unicode.Scalar(byte)))'")
        }
        index += 1
    }

    private mutating func readObject(
        _ field: (inout ChunkJSONReader, Key) throws(Failure) -> Void
    ) throws(Failure) {
        try expect(UInt8(ascii: "{"))
        try enter()
        defer { depth -= 1 }
        if peek == UInt8(ascii: "}") {
            index += 1
            return
        }
        while true {
            guard peek == UInt8(ascii: "\"") else { throw failure("expected an object key") }
            let key = try readKey()
            try expect(UInt8(ascii: ":"))
            skipWhitespace()
            try field(&self, key)
            switch peek {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "}"):
                index += 1
                return
            default: throw failure("expected ',' or '}' in an object")
            }
        }
    }

    private mutating func readArray(_ element: (inout ChunkJSONReader, Int) throws(Failure) -> Void) throws(Failure) {
        switch peek {
        case UInt8(ascii: "["): break
        default:
            try skipValue()  // null or another type: treated as empty
            return
        }
        index += 1
        try enter()
        defer { depth -= 1 }
        if peek == UInt8(ascii: "]") {
            index += 1
            return
        }
        var position = 0
        while true {
            skipWhitespace()
            try element(&self, position)
            position += 1
            switch peek {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "]"):
                index += 1
                return
            default: throw failure("expected ',' or ']' in an array")
            }
        }
    }

    /// One level deeper; throws past `maximumDepth`.
    private mutating func enter() throws(Failure) {
        depth += 1
        if depth > Self.maximumDepth {
            depth -= 1
            throw failure("JSON nested deeper than \(Self.maximumDepth) levels")
        }
    }

    private mutating func readKey() throws(Failure) -> Key {
        index += 1  // opening quote
        let start = index
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                let key = Key(bytes: UnsafeBufferPointer(rebasing: bytes[start..<index]), decoded: nil)
                index += 1
                return key
            }
            if byte == UInt8(ascii: "\\") {
                index = start - 1
                return Key(bytes: UnsafeBufferPointer(rebasing: bytes[0..<0]), decoded: try readString())
            }
            index += 1
        }
        throw failure("unterminated key")
    }

    private mutating func readString() throws(Failure) -> String {
        index += 1  // opening quote
        let start = index
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
                index += 1
                return text
            }
            if byte == UInt8(ascii: "\\") { break }
            if byte < 0x20 { throw failure("control character in a string") }
            index += 1
        }
        guard index < bytes.count else { throw failure("unterminated string") }
        var decoded = Array(bytes[start..<index])
        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            switch byte {
            case UInt8(ascii: "\""):
                return String(decoding: decoded, as: UTF8.self)
            case UInt8(ascii: "\\"):
                guard index < bytes.count else { throw failure("unterminated escape") }
                let escape = bytes[index]
                index += 1
                switch escape {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): decoded.append(escape)
                case UInt8(ascii: "b"): decoded.append(0x08)
                case UInt8(ascii: "f"): decoded.append(0x0C)
                case UInt8(ascii: "n"): decoded.append(0x0A)
                case UInt8(ascii: "r"): decoded.append(0x0D)
                case UInt8(ascii: "t"): decoded.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try readHex4()
                    if (0xD800...0xDBFF).contains(scalar) {
                        // A high surrogate must be followed by an escaped low surrogate.
                        if index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") {
                            index += 2
                            let low = try readHex4()
                            if (0xDC00...0xDFFF).contains(low) {
                                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                            } else {
                                appendScalar(0xFFFD, to: &decoded)
                                scalar = low
                            }
                        } else {
                            scalar = 0xFFFD
                        }
                    } else if (0xDC00...0xDFFF).contains(scalar) {
                        scalar = 0xFFFD
                    }
                    appendScalar(scalar, to: &decoded)
                default:
                    throw failure("invalid escape")
                }
            default:
                if byte < 0x20 { throw failure("control character in a string") }
                decoded.append(byte)
            }
        }
        throw failure("unterminated string")
    }

    private mutating func readHex4() throws(Failure) -> UInt32 {
        guard index + 4 <= bytes.count else { throw failure("short \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            index += 1
            let digit: UInt32
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
            default: throw failure("invalid \\u escape")
            }
            value = value << 4 | digit
        }
        return value
    }

    private func appendScalar(_ value: UInt32, to buffer: inout [UInt8]) {
        let scalar = Unicode.Scalar(value) ?? "\u{FFFD}"
        buffer.append(contentsOf: UTF8.encode(scalar)!)
    }

    private mutating func readNumberText() throws(Failure) -> String {
        let start = index
        if index < bytes.count, bytes[index] == UInt8(ascii: "-") { index += 1 }
        var digits = 0
        while index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                digits += 1
                index += 1
            case UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E"), UInt8(ascii: "+"), UInt8(ascii: "-"):
                index += 1
            default:
                guard digits > 0 else { throw failure("invalid number") }
                return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
            }
        }
        guard digits > 0 else { throw failure("invalid number") }
        return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
    }

    private mutating func expectLiteral(_ literal: StaticString) throws(Failure) {
        let count = literal.utf8CodeUnitCount
        guard index + count <= bytes.count else { throw failure("invalid literal") }
        let pointer = literal.utf8Start
        for offset in 0..<count where bytes[index + offset] != pointer[offset] { throw failure("invalid literal") }
        index += count
    }

    private mutating func skipValue() throws(Failure) {
        switch peek {
        case UInt8(ascii: "{"):
            try readObject { (reader: inout ChunkJSONReader, _: Key) throws(Failure) in try reader.skipValue() }
        case UInt8(ascii: "["):
            try readArray { (reader: inout ChunkJSONReader, _: Int) throws(Failure) in try reader.skipValue() }
        case UInt8(ascii: "\""):
            _ = try skipString()
        case UInt8(ascii: "t"): try expectLiteral("true")
        case UInt8(ascii: "f"): try expectLiteral("false")
        case UInt8(ascii: "n"): try expectLiteral("null")
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            _ = try readNumberText()
        default:
            throw failure("expected a JSON value")
        }
    }

    /// Skips a string without decoding it, still rejecting bad escapes and raw control characters.
    private mutating func skipString() throws(Failure) {
        index += 1
        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            if byte == UInt8(ascii: "\"") { return }
            if byte < 0x20 { throw failure("control character in a string") }
            if byte == UInt8(ascii: "\\") {
                guard index < bytes.count else { break }
                switch bytes[index] {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                    UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                    index += 1
                case UInt8(ascii: "u"):
                    index += 1
                    _ = try readHex4()
                default:
                    throw failure("invalid escape")
                }
            }
        }
        throw failure("unterminated string")
    }
}

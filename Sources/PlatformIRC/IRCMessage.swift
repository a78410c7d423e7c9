/// One IRCv3 message tag; `value` is nil for a tag sent without `=`.
public struct IRCTag: Hashable, Sendable {
    /// Tag key, including any vendor prefix or `+` client marker.
    public var key: String
    /// Unescaped value, or nil when the tag had no value.
    public var value: String?

    /// Creates a tag.
    public init(key: String, value: String? = nil) {
        self.key = key
        self.value = value
    }
}

/// A message source: `nick!user@host` or a server name (kept in `nick`).
public struct IRCPrefix: Hashable, Sendable, CustomStringConvertible {
    /// Nick or server name.
    public var nick: String
    /// Ident/user part, if present.
    public var user: String?
    /// Host part, if present.
    public var host: String?

    /// Creates a prefix.
    public init(nick: String, user: String? = nil, host: String? = nil) {
        self.nick = nick
        self.user = user
        self.host = host
    }

    /// Parses `nick!user@host`, `nick@host` or a plain name.
    public init(parsing raw: String) {
        var rest = Substring(raw)
        var host: Substring?
        var user: Substring?
        if let at = rest.firstIndex(of: "@") {
            host = rest[rest.index(after: at)...]
            rest = rest[..<at]
        }
        if let bang = rest.firstIndex(of: "!") {
            user = rest[rest.index(after: bang)...]
            rest = rest[..<bang]
        }
        self.init(nick: String(rest), user: user.map(String.init), host: host.map(String.init))
    }

    /// The wire form `nick!user@host`.
    public var description: String {
        var s = nick
        if let user { s += "!" + user }
        if let host { s += "@" + host }
        return s
    }
}

/// Why a raw line could not be parsed.
public struct IRCParseError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Error category.
    public struct Code: Hashable, Sendable {
        let raw: String
        /// The line was empty or only whitespace.
        public static let empty = Code(raw: "empty")
        /// Tags or prefix were present but no command followed.
        public static let missingCommand = Code(raw: "missingCommand")
        /// The command was neither letters nor a 3-digit numeric.
        public static let invalidCommand = Code(raw: "invalidCommand")
    }

    /// Error category.
    public let code: Code
    /// Human-readable detail.
    public let message: String
    /// The offending line, decoded leniently (truncated to 200 characters).
    public let line: String

    /// Text for logs.
    public var description: String { "IRCParseError(\(code.raw)): \(message) in \"\(line)\"" }
}

/// A parsed IRC line (tags, prefix, command, params); serialization strips CR, LF and NUL.
public struct IRCMessage: Hashable, Sendable {
    /// IRCv3 tags in wire order.
    public var tags: [IRCTag]
    /// Source of the message, if any.
    public var prefix: IRCPrefix?
    /// Upper-cased command word or 3-digit numeric.
    public var command: String
    /// Parameters; the last may contain spaces.
    public var params: [String]

    /// Creates a message.
    public init(tags: [IRCTag] = [], prefix: IRCPrefix? = nil, command: String, params: [String] = []) {
        self.tags = tags
        self.prefix = prefix
        self.command = command
        self.params = params
    }

    /// The value of the first tag named `key`, or nil (also nil when the tag has no value).
    public func tag(_ key: String) -> String? {
        tags.first { $0.key == key }?.value ?? nil
    }

    /// Whether the command is a 3-digit numeric reply.
    public var isNumeric: Bool { command.utf8.count == 3 && command.utf8.allSatisfy { $0 >= 48 && $0 <= 57 } }

    /// Parses one raw line (with or without CRLF); never traps on any input.
    public init(parsing bytes: [UInt8]) throws(IRCParseError) {
        var end = bytes.count
        while end > 0, bytes[end - 1] == 0x0D || bytes[end - 1] == 0x0A { end -= 1 }
        var i = 0
        while i < end, bytes[i] == 0x20 { i += 1 }
        if i >= end { throw Self.failure(.empty, "empty line", bytes[0..<end]) }
        var tags: [IRCTag] = []
        if bytes[i] == UInt8(ascii: "@") {
            i += 1
            let raw = Self.word(bytes, &i, end)
            for part in raw.split(separator: UInt8(ascii: ";"), omittingEmptySubsequences: true) {
                if let eq = part.firstIndex(of: UInt8(ascii: "=")) {
                    let key = IRCText.decode(part[part.startIndex..<eq])
                    let value = IRCMessage.unescapeTagValue(IRCText.decode(part[(eq + 1)...]))
                    tags.append(IRCTag(key: key, value: value))
                } else {
                    tags.append(IRCTag(key: IRCText.decode(part), value: nil))
                }
            }
            while i < end, bytes[i] == 0x20 { i += 1 }
        }
        var prefix: IRCPrefix?
        if i < end, bytes[i] == UInt8(ascii: ":") {
            i += 1
            prefix = IRCPrefix(parsing: IRCText.decode(Self.word(bytes, &i, end)))
            while i < end, bytes[i] == 0x20 { i += 1 }
        }
        let commandBytes = Self.word(bytes, &i, end)
        if commandBytes.isEmpty { throw Self.failure(.missingCommand, "no command", bytes[0..<end]) }
        let isLetters = commandBytes.allSatisfy { ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) }
        let isNumeric = commandBytes.count == 3 && commandBytes.allSatisfy { $0 >= 48 && $0 <= 57 }
        if !isLetters && !isNumeric {
            throw Self.failure(.invalidCommand, "command is not a word or a 3-digit numeric", bytes[0..<end])
        }
        var params: [String] = []
        while true {
            while i < end, bytes[i] == 0x20 { i += 1 }
            if i >= end { break }
            if bytes[i] == UInt8(ascii: ":") {
                params.append(IRCText.decode(bytes[(i + 1)..<end]))
                break
            }
            params.append(IRCText.decode(Self.word(bytes, &i, end)))
        }
        self.init(tags: tags, prefix: prefix, command: String(decoding: commandBytes, as: UTF8.self).uppercased(), params: params)
    }

    /// Parses a line given as a String.
    public init(parsing line: String) throws(IRCParseError) {
        try self.init(parsing: Array(line.utf8))
    }

    private static func word(_ bytes: [UInt8], _ i: inout Int, _ end: Int) -> ArraySlice<UInt8> {
        let start = i
        while i < end, bytes[i] != 0x20 { i += 1 }
        return bytes[start..<i]
    }

    private static func failure(_ code: IRCParseError.Code, _ message: String, _ line: ArraySlice<UInt8>) -> IRCParseError {
        IRCParseError(code: code, message: message, line: String(IRCText.decode(line).prefix(200)))
    }

    /// The wire bytes without CRLF; CR, LF and NUL are removed from every part, and middle params are made valid.
    public var serializedBytes: [UInt8] {
        var out: [UInt8] = []
        func clean(_ s: String) -> [UInt8] { s.utf8.filter { $0 != 0x0D && $0 != 0x0A && $0 != 0 } }
        func cleanWord(_ s: String) -> [UInt8] { clean(s).filter { $0 != 0x20 } }
        if !tags.isEmpty {
            out.append(UInt8(ascii: "@"))
            for (n, tag) in tags.enumerated() {
                if n > 0 { out.append(UInt8(ascii: ";")) }
                out += cleanWord(tag.key).filter { $0 != UInt8(ascii: ";") && $0 != UInt8(ascii: "=") }
                if let value = tag.value {
                    out.append(UInt8(ascii: "="))
                    out += IRCMessage.escapeTagValue(value).utf8.filter { $0 != 0 }
                }
            }
            out.append(0x20)
        }
        if let prefix {
            out.append(UInt8(ascii: ":"))
            out += cleanWord(prefix.description)
            out.append(0x20)
        }
        out += cleanWord(command)
        for (n, param) in params.enumerated() {
            out.append(0x20)
            let bytes = clean(param)
            let isLast = n == params.count - 1
            if isLast && (bytes.isEmpty || bytes.contains(0x20) || bytes.first == UInt8(ascii: ":")) {
                out.append(UInt8(ascii: ":"))
                out += bytes
            } else {
                // A middle param cannot hold spaces or start with ':'; keep it parseable as one word.
                var word = bytes.filter { $0 != 0x20 }
                while word.first == UInt8(ascii: ":") { word.removeFirst() }
                out += word.isEmpty ? [UInt8(ascii: "*")] : word
            }
        }
        return out
    }

    /// The wire bytes followed by CRLF.
    public var wireBytes: [UInt8] { serializedBytes + [0x0D, 0x0A] }

    /// The serialized line as text (no CRLF).
    public var serialized: String { String(decoding: serializedBytes, as: UTF8.self) }

    /// Escapes a tag value (`;` space `\` CR LF).
    public static func escapeTagValue(_ value: String) -> String {
        var out = ""
        for scalar in value.unicodeScalars {
            switch scalar {
            case ";": out += "\\:"
            case " ": out += "\\s"
            case "\\": out += "\\\\"
            case "\r": out += "\\r"
            case "\n": out += "\\n"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// Unescapes a tag value; an unknown escape yields the character, a trailing lone `\` is dropped.
    public static func unescapeTagValue(_ value: String) -> String {
        var out = ""
        var escaping = false
        for scalar in value.unicodeScalars {
            if escaping {
                switch scalar {
                case ":": out += ";"
                case "s": out += " "
                case "r": out += "\r"
                case "n": out += "\n"
                default: out.unicodeScalars.append(scalar)
                }
                escaping = false
            } else if scalar == "\\" {
                escaping = true
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}

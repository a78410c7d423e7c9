/// mIRC formatting removal and CTCP framing.
public enum IRCFormatting {
    /// Removes colour (`\x03NN,NN`, `\x04RRGGBB`), bold, italic, underline, strike, monospace, reverse and reset codes.
    public static func strip(_ text: String) -> String {
        let scalars = Array(text.unicodeScalars)
        var out = String.UnicodeScalarView()
        var i = 0
        func digits(max: Int, hex: Bool) {
            var n = 0
            while n < max, i < scalars.count, isDigit(scalars[i], hex: hex) { i += 1; n += 1 }
        }
        while i < scalars.count {
            let s = scalars[i]
            switch s.value {
            case 0x03, 0x04:
                let hex = s.value == 0x04
                let width = hex ? 6 : 2
                i += 1
                let before = i
                digits(max: width, hex: hex)
                // A comma belongs to the code only when a background colour follows it.
                if i > before, i + 1 < scalars.count, scalars[i] == ",", isDigit(scalars[i + 1], hex: hex) {
                    i += 1
                    digits(max: width, hex: hex)
                }
            case 0x02, 0x1D, 0x1F, 0x1E, 0x11, 0x16, 0x0F:
                i += 1
            default:
                out.append(s)
                i += 1
            }
        }
        return String(out)
    }

    private static func isDigit(_ s: Unicode.Scalar, hex: Bool) -> Bool {
        switch s {
        case "0"..."9": return true
        case "a"..."f", "A"..."F": return hex
        default: return false
        }
    }
}

/// A CTCP request or reply carried in a PRIVMSG/NOTICE body (`\x01COMMAND args\x01`).
public struct IRCCTCP: Hashable, Sendable {
    /// Upper-cased CTCP command, e.g. `ACTION`, `VERSION`, `PING`.
    public var command: String
    /// Everything after the first space, or empty.
    public var argument: String

    /// Creates a CTCP payload.
    public init(command: String, argument: String = "") {
        self.command = command
        self.argument = argument
    }

    /// Detects CTCP framing; the closing `\x01` is optional as many clients omit it.
    public init?(parsing text: String) {
        guard text.unicodeScalars.first == "\u{01}" else { return nil }
        var body = text.unicodeScalars.dropFirst()
        if body.last == "\u{01}" { body = body.dropLast() }
        let inner = String(body)
        guard !inner.isEmpty else { return nil }
        if let space = inner.firstIndex(of: " ") {
            command = inner[..<space].uppercased()
            argument = String(inner[inner.index(after: space)...])
        } else {
            command = inner.uppercased()
            argument = ""
        }
    }

    /// Whether this is a `/me` action.
    public var isAction: Bool { command == "ACTION" }

    /// The framed text `\x01COMMAND argument\x01`.
    public var framed: String {
        argument.isEmpty ? "\u{01}\(command)\u{01}" : "\u{01}\(command) \(argument)\u{01}"
    }

    /// The NOTICE reply to send for a VERSION or PING request, or nil for other commands.
    public func reply(to nick: String, version: String) -> IRCMessage? {
        switch command {
        case "VERSION": return IRCMessage(command: "NOTICE", params: [nick, IRCCTCP(command: "VERSION", argument: version).framed])
        case "PING": return IRCMessage(command: "NOTICE", params: [nick, IRCCTCP(command: "PING", argument: argument).framed])
        default: return nil
        }
    }
}

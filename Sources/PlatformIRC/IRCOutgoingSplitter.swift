/// Why outgoing text could not be split.
public struct IRCSplitError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Error category.
    public struct Code: Hashable, Sendable {
        let raw: String
        /// The prefix and target leave too few bytes for text.
        public static let noRoom = Code(raw: "noRoom")
    }

    /// Error category.
    public let code: Code
    /// Human-readable detail.
    public let message: String
    /// The target the text was meant for.
    public let target: String

    /// Text for logs.
    public var description: String { "IRCSplitError(\(code.raw)) for \(target): \(message)" }
}

/// Turns model text into PRIVMSG lines that fit 512 bytes as the server relays them, with no injectable line breaks.
public struct IRCOutgoingSplitter: Hashable, Sendable {
    /// Our nick as the server sees it.
    public var nick: String
    /// Our user (ident) as the server sees it, e.g. `~bot`.
    public var user: String
    /// Our host as the server sees it.
    public var host: String
    /// Whether `*waves*` / action-marker lines become CTCP ACTION.
    public var actionsEnabled: Bool
    /// Persona action marker that starts an action line, e.g. `/me `.
    public var actionMarker: String?
    /// Line length limit including CRLF (512, or the server's `LINELEN`).
    public var lineLength: Int

    /// Smallest usable text budget; anything lower cannot hold a 4-byte scalar reliably.
    static let minimumBudget = 8

    /// Creates a splitter; the default host length is pessimistic until the server tells us ours.
    public init(nick: String, user: String = "~persona", host: String = String(repeating: "h", count: 63),
                actionsEnabled: Bool = true, actionMarker: String? = nil, lineLength: Int = 512) {
        self.nick = nick
        self.user = user
        self.host = host
        self.actionsEnabled = actionsEnabled
        self.actionMarker = actionMarker
        self.lineLength = lineLength
    }

    /// Learns how the server sees us from a message whose prefix is ours (echo, JOIN) or from 001/WHO data.
    public mutating func updateIdentity(from prefix: IRCPrefix) {
        nick = prefix.nick
        if let user = prefix.user { self.user = user }
        if let host = prefix.host { self.host = host }
    }

    /// Learns our user@host from 001 (`… nick!user@host`), WHO 352, 396 host changes, or any line we sourced.
    public mutating func learn(from message: IRCMessage) {
        let mapping = IRCCaseMapping("rfc1459")
        let p = message.params
        switch message.command {
        case "001":
            if let first = p.first, !first.isEmpty { nick = first }
            if let last = p.last?.split(separator: " ").last, last.contains("!"), last.contains("@") {
                let prefix = IRCPrefix(parsing: String(last))
                if mapping.equal(prefix.nick, nick) { updateIdentity(from: prefix) }
            }
        case "352":
            // :srv 352 me #chan user host server nick flags :hops realname
            if p.count >= 6, mapping.equal(p[5], nick) { user = p[2]; host = p[3] }
        case "396":
            if p.count >= 2, mapping.equal(p[0], nick) { host = p[1] }
        default:
            if let prefix = message.prefix, prefix.user != nil, prefix.host != nil, mapping.equal(prefix.nick, nick) {
                updateIdentity(from: prefix)
            }
        }
    }

    /// Bytes of text available in one PRIVMSG to `target` (ACTION framing subtracted when `action`).
    public func budget(target: String, action: Bool = false) -> Int {
        let overhead = ":\(nick)!\(user)@\(host) PRIVMSG \(target) :".utf8.count
        return lineLength - 2 - overhead - (action ? "\u{01}ACTION \u{01}".utf8.count : 0)
    }

    /// Splits `text` into PRIVMSGs for `target`: line breaks become separate messages, CR/LF/NUL never reach the wire.
    public func messages(for text: String, target: String) throws(IRCSplitError) -> [IRCMessage] {
        var result: [IRCMessage] = []
        for rawLine in Self.lines(of: text) {
            let (body, isAction) = classify(rawLine)
            if body.allSatisfy(\.isWhitespace) { continue }
            let room = budget(target: target, action: isAction)
            guard room >= Self.minimumBudget else {
                throw IRCSplitError(code: .noRoom, message: "only \(room) bytes left per line", target: target)
            }
            for chunk in Self.chunks(body, budget: room) {
                let payload = isAction ? IRCCTCP(command: "ACTION", argument: chunk).framed : chunk
                result.append(IRCMessage(command: "PRIVMSG", params: [target, payload]))
            }
        }
        return result
    }

    /// Splits on CR, LF and CRLF and drops NUL, so no byte can end an IRC line early; drops `\x01` too, so model
    /// text cannot frame its own CTCP (VERSION, DCC, a spoofed ACTION): only `messages(for:target:)` adds framing.
    static func lines(of text: String) -> [String] {
        var lines: [String] = []
        var current = String.UnicodeScalarView()
        var previousCR = false
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\r":
                lines.append(String(current)); current = .init(); previousCR = true
            case "\n":
                if !previousCR { lines.append(String(current)); current = .init() }
                previousCR = false
            case "\0", "\u{01}":
                previousCR = false
            default:
                current.append(scalar); previousCR = false
            }
        }
        lines.append(String(current))
        return lines
    }

    /// Detects `*waves*` and action-marker lines when actions are enabled.
    func classify(_ line: String) -> (String, Bool) {
        guard actionsEnabled else { return (line, false) }
        let trimmed = line.trimmingWhitespace()
        if let marker = actionMarker, !marker.isEmpty, trimmed.hasPrefix(marker) {
            return (String(trimmed.dropFirst(marker.count)).trimmingWhitespace(), true)
        }
        if trimmed.count > 2, trimmed.hasPrefix("*"), trimmed.hasSuffix("*"),
           !trimmed.dropFirst().dropLast().contains("*") {
            return (String(trimmed.dropFirst().dropLast()).trimmingWhitespace(), true)
        }
        return (line, false)
    }

    /// Cuts one line into pieces of at most `budget` UTF-8 bytes, at whitespace when possible, else at a grapheme
    /// boundary, and only for a single oversized grapheme at a scalar boundary.
    static func chunks(_ line: String, budget: Int) -> [String] {
        var result: [String] = []
        var rest = Substring(line.trimmingWhitespace())
        while rest.utf8.count > budget {
            var bytes = 0
            var index = rest.startIndex
            var lastSpace: String.Index?
            while index < rest.endIndex {
                let ch = rest[index]
                let n = ch.utf8.count
                if bytes + n > budget { break }
                if ch.isWhitespace { lastSpace = index }
                bytes += n
                index = rest.index(after: index)
            }
            let piece: Substring
            if index == rest.startIndex {
                // One grapheme cluster exceeds the budget: cut between scalars, never inside one.
                var scalarBytes = 0
                var end = rest.unicodeScalars.startIndex
                while end < rest.unicodeScalars.endIndex {
                    let n = UTF8.width(rest.unicodeScalars[end])
                    if scalarBytes + n > budget { break }
                    scalarBytes += n
                    end = rest.unicodeScalars.index(after: end)
                }
                piece = Substring(rest.unicodeScalars[..<end])
                rest = Substring(rest.unicodeScalars[end...])
            } else if let space = lastSpace, space > rest.startIndex {
                piece = rest[..<space]
                rest = rest[rest.index(after: space)...]
            } else {
                piece = rest[..<index]
                rest = rest[index...]
            }
            let trimmedPiece = piece.trimmingWhitespace()
            if !trimmedPiece.isEmpty { result.append(trimmedPiece) }
            rest = Substring(rest.trimmingWhitespace())
        }
        if !rest.isEmpty { result.append(String(rest)) }
        return result
    }
}

extension StringProtocol {
    /// Drops leading and trailing whitespace characters.
    func trimmingWhitespace() -> String {
        guard let first = firstIndex(where: { !$0.isWhitespace }),
              let last = lastIndex(where: { !$0.isWhitespace }) else { return "" }
        return String(self[first...last])
    }
}

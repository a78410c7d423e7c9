import BridgeCore
import Foundation

/// The MESSAGE_CREATE fast path: most gateway traffic on a busy server is chatter, and a generic JSON tree of
/// the whole payload (member, embeds, components, flags...) costs more than everything else the bridge does
/// with it. This scans the bytes once, reads only the fields `DiscordMessage` keeps, and skips the rest
/// without building values. Anything it does not expect (escaped keys, numbers with fractions, wrong
/// types, control characters) makes it give up, and the caller decodes the payload with `JSONDecoder`
/// instead, so odd input gets exactly the full decoder's answer.
extension GatewayPayload {
    /// The dispatch type name shared by every scanned MESSAGE_CREATE (no per-payload string).
    static let messageCreateType = "MESSAGE_CREATE"

    /// A MESSAGE_CREATE payload decoded by scanning, or nil when the payload is anything else or not plain.
    static func scanMessageCreate(_ bytes: [UInt8]) -> GatewayPayload? {
        bytes.withUnsafeBufferPointer { scanMessageCreate($0) }
    }

    static func scanMessageCreate(_ buffer: UnsafeBufferPointer<UInt8>, strings: GatewayStringCache? = nil) -> GatewayPayload? {
        var scanner = GatewayScanner(buffer, strings: strings)
        guard let envelope = scanner.envelope(), envelope.op == 0, envelope.isMessageCreate else { return nil }
        // `d` was read in the same pass when `t` came first (as Discord sends it); otherwise it is read now.
        if let message = envelope.message {
            return GatewayPayload(op: .dispatch, s: envelope.s, t: messageCreateType, event: .messageCreate(message))
        }
        guard let d = envelope.d else { return nil }
        var inner = GatewayScanner(buffer, range: d, strings: strings)
        guard let message = inner.message() else { return nil }
        return GatewayPayload(op: .dispatch, s: envelope.s, t: messageCreateType, event: .messageCreate(message))
    }
}

/// A forward-only scanner over one JSON payload's bytes; every method returns nil on anything unexpected.
struct GatewayScanner {
    private let bytes: UnsafeBufferPointer<UInt8>
    private var index: Int
    private let end: Int
    /// The connection's repeated strings (ids and names), when it keeps them.
    private let strings: GatewayStringCache?

    init(_ bytes: UnsafeBufferPointer<UInt8>, range: Range<Int>? = nil, strings: GatewayStringCache? = nil) {
        self.bytes = bytes
        index = range?.lowerBound ?? 0
        end = range?.upperBound ?? bytes.count
        self.strings = strings
    }

    struct Envelope {
        var op: Int?
        var s: Int?
        var isMessageCreate = false
        var d: Range<Int>?
        /// `d` as a message, when `t` named MESSAGE_CREATE before it.
        var message: DiscordMessage?
    }

    // MARK: Documents

    /// The envelope: `op`, `s`, whether `t` is MESSAGE_CREATE, and where `d` lies (not decoded).
    mutating func envelope() -> Envelope? {
        var result = Envelope()
        let complete = object { scanner, key in
            switch key {
            case Self.kOp:
                guard let op = scanner.integer() else { return false }
                result.op = op
            case Self.kS:
                if scanner.null() { result.s = nil; return true }
                guard let s = scanner.integer() else { return false }
                result.s = s
            case Self.kT:
                guard let t = scanner.rawString() else { return false }
                result.isMessageCreate = t.matches(Self.kMessageCreate)
            case Self.kD:
                scanner.skipWhitespace()
                let start = scanner.index
                if result.isMessageCreate {
                    // One pass: the message is read where it lies instead of skipped and scanned again. A `d` the
                    // fast path cannot read is skipped, and the caller gives the payload to the full decoder.
                    var inner = scanner
                    if let message = inner.message(nested: true) {
                        result.message = message
                        scanner.index = inner.index
                        result.d = start..<scanner.index
                        return true
                    }
                }
                guard scanner.skipValue() else { return false }
                result.d = start..<scanner.index
            default:
                return scanner.skipValue()
            }
            return true
        }
        guard complete else { return nil }
        skipWhitespace()
        return index == end ? result : nil
    }

    /// The `d` of a MESSAGE_CREATE, with the tolerance of `DiscordMessage.init(from:)` for absent fields.
    mutating func message(nested: Bool = false) -> DiscordMessage? {
        var id: String?, channelID: String?, guildID: String?, author: DiscordUser?, content: String?
        var webhookID: String?, mentions: [DiscordUser]?, referenced: String?, roles: [String]?, nick: String?
        var mentionRoles: [String]?, timestamp: Date?
        let complete = object { scanner, key in
            switch key {
            case Self.kID: id = scanner.string(); return id != nil
            case Self.kTimestamp:
                // Read in place, without a string; one that is not ISO 8601 leaves the time to the router ("now").
                if scanner.null() { return true }
                guard let raw = scanner.rawString() else { return false }
                timestamp = ISO8601Timestamp.secondsSince1970(parsing: UnsafeBufferPointer(rebasing: raw))
                    .map(Date.init(timeIntervalSince1970:))
            case Self.kChannelID: channelID = scanner.repeatedString(); return channelID != nil
            case Self.kGuildID: return scanner.optionalString(&guildID, repeated: true)
            case Self.kAuthor: author = scanner.user(); return author != nil
            case Self.kContent: return scanner.optionalString(&content)
            case Self.kWebhookID: return scanner.optionalString(&webhookID)
            case Self.kMentions:
                if scanner.null() { return true }
                var users: [DiscordUser] = []
                guard scanner.array({ scanner in
                    guard let user = scanner.user() else { return false }
                    users.append(user)
                    return true
                }) else { return false }
                mentions = users
            case Self.kMentionRoles:
                if scanner.null() { return true }
                guard let list = scanner.stringArray() else { return false }
                mentionRoles = list
            case Self.kMessageReference:
                if scanner.null() { return true }
                return scanner.object { scanner, key in
                    guard key.matches(Self.kMessageID) else { return scanner.skipValue() }
                    return scanner.optionalString(&referenced)
                }
            case Self.kAttachments:
                // Attachments are rare (card imports); a message with any goes to the full decoder.
                if scanner.null() { return true }
                return scanner.array { _ in false }
            case Self.kMember:
                if scanner.null() { return true }
                return scanner.object { scanner, key in
                    switch key {
                    case Self.kRoles:
                        if scanner.null() { return true }
                        guard let list = scanner.stringArray() else { return false }
                        roles = list
                        return true
                    case Self.kNick: return scanner.optionalString(&nick)
                    default: return scanner.skipValue()
                    }
                }
            default:
                return scanner.skipValue()
            }
            return true
        }
        guard complete, let id, let channelID, let author else { return nil }
        // Alone, the message is the whole range; inside the envelope the envelope's own scan goes on after it.
        if !nested {
            skipWhitespace()
            guard index == end else { return nil }
        }
        return DiscordMessage(id: id, channelId: channelID, guildId: guildID, author: author, content: content ?? "",
                              webhookId: webhookID, mentions: mentions, referencedMessageId: referenced,
                              memberRoles: roles, memberNick: nick, mentionRoles: mentionRoles ?? [], timestamp: timestamp)
    }

    /// A user object: `id` required, `username`, `global_name` and `bot` optional (null allowed).
    mutating func user() -> DiscordUser? {
        var id: String?, username: String?, globalName: String?, bot: Bool?
        let complete = object { scanner, key in
            switch key {
            case Self.kID: id = scanner.repeatedString(); return id != nil
            case Self.kUsername: return scanner.optionalString(&username, repeated: true)
            case Self.kGlobalName: return scanner.optionalString(&globalName, repeated: true)
            case Self.kBot:
                if scanner.null() { bot = nil; return true }
                guard let value = scanner.bool() else { return false }
                bot = value
                return true
            default: return scanner.skipValue()
            }
        }
        guard complete, let id else { return nil }
        return DiscordUser(id: id, username: username, globalName: globalName, bot: bot)
    }

    // MARK: Structure

    /// Walks an object, handing each key's raw bytes to `field`, which must consume the value.
    mutating func object(_ field: (inout GatewayScanner, UnsafeBufferPointer<UInt8>.SubSequence) -> Bool) -> Bool {
        skipWhitespace()
        guard consume(UInt8(ascii: "{")) else { return false }
        skipWhitespace()
        if consume(UInt8(ascii: "}")) { return true }
        while true {
            skipWhitespace()
            guard let key = rawString() else { return false }
            skipWhitespace()
            guard consume(UInt8(ascii: ":")) else { return false }
            guard field(&self, key) else { return false }
            skipWhitespace()
            if consume(UInt8(ascii: ",")) { continue }
            return consume(UInt8(ascii: "}"))
        }
    }

    /// Walks an array, calling `element` for each entry, which must consume it.
    mutating func array(_ element: (inout GatewayScanner) -> Bool) -> Bool {
        skipWhitespace()
        guard consume(UInt8(ascii: "[")) else { return false }
        skipWhitespace()
        if consume(UInt8(ascii: "]")) { return true }
        while true {
            guard element(&self) else { return false }
            skipWhitespace()
            if consume(UInt8(ascii: ",")) { continue }
            return consume(UInt8(ascii: "]"))
        }
    }

    mutating func stringArray() -> [String]? {
        var list: [String] = []
        guard array({ scanner in
            guard let value = scanner.string() else { return false }
            list.append(value)
            return true
        }) else { return nil }
        return list
    }

    /// Skips any JSON value without building it.
    mutating func skipValue() -> Bool {
        skipWhitespace()
        guard index < end else { return false }
        switch bytes[index] {
        case UInt8(ascii: "\""):
            return rawString(allowEscapes: true) != nil
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            var depth = 0
            while index < end {
                let byte = bytes[index]
                switch byte {
                case UInt8(ascii: "\""):
                    guard rawString(allowEscapes: true) != nil else { return false }
                    continue
                case UInt8(ascii: "{"), UInt8(ascii: "["):
                    depth += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    depth -= 1
                    if depth == 0 {
                        index += 1
                        return true
                    }
                default:
                    break
                }
                index += 1
            }
            return false
        default:
            // A number or a literal: up to the next delimiter.
            let start = index
            while index < end {
                switch bytes[index] {
                case UInt8(ascii: ","), UInt8(ascii: "}"), UInt8(ascii: "]"), 0x20, 0x0A, 0x0D, 0x09:
                    return index > start
                default:
                    index += 1
                }
            }
            return index > start
        }
    }

    // MARK: Scalars

    /// A string value, unescaped.
    mutating func string() -> String? {
        skipWhitespace()
        guard index < end, bytes[index] == UInt8(ascii: "\"") else { return nil }
        let start = index + 1
        let cursor = Self.firstSpecial(in: bytes, from: start, to: end)
        guard cursor < end else { return nil }
        switch bytes[cursor] {
        case UInt8(ascii: "\""):
            index = cursor + 1
            return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<cursor]), as: UTF8.self)
        case UInt8(ascii: "\\"):
            return escapedString(from: start)
        default:
            return nil
        }
    }

    /// A string that payloads repeat (an id, a name): the cached one when the connection keeps them.
    mutating func repeatedString() -> String? {
        guard let strings else { return string() }
        let start = index
        // Without escapes the raw bytes are the string; with any, the unescaping path makes a new one.
        if let raw = rawString() { return strings.string(raw) }
        index = start
        return string()
    }

    /// Sets `value` from a string or null; false for any other type.
    mutating func optionalString(_ value: inout String?, repeated: Bool = false) -> Bool {
        if null() {
            value = nil
            return true
        }
        guard let string = repeated ? repeatedString() : string() else { return false }
        value = string
        return true
    }

    /// The raw bytes between a string's quotes; keys and `t` have no escapes (nil if one does, unless allowed).
    mutating func rawString(allowEscapes: Bool = false) -> UnsafeBufferPointer<UInt8>.SubSequence? {
        skipWhitespace()
        guard index < end, bytes[index] == UInt8(ascii: "\"") else { return nil }
        let start = index + 1
        var cursor = start
        while true {
            cursor = Self.firstSpecial(in: bytes, from: cursor, to: end)
            guard cursor < end else { return nil }
            switch bytes[cursor] {
            case UInt8(ascii: "\""):
                index = cursor + 1
                return bytes[start..<cursor]
            case UInt8(ascii: "\\"):
                guard allowEscapes else { return nil }
                cursor += 2
            default:
                return nil
            }
        }
    }

    /// The index of the first `"`, `\\` or control byte in `bytes[from..<to]`, or `to` when there is none.
    ///
    /// Eight bytes at a time: nearly every byte of a message payload is inside a string (ids, names, text, the
    /// timestamp), and a byte at a time this loop was a fifth of the scan. For each word, a byte's top bit marks a
    /// match (`x - 0x01…` borrows out of a zero byte, `x - 0x20…` out of one below 0x20; `& ~x` drops bytes from
    /// 0x80 up); a borrow only runs on into the bytes after a match, so the lowest mark is the first one.
    @inline(__always)
    static func firstSpecial(in bytes: UnsafeBufferPointer<UInt8>, from: Int, to end: Int) -> Int {
        var cursor = from
        if let base = bytes.baseAddress {
            let raw = UnsafeRawPointer(base)
            while cursor + 8 <= end {
                let word = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: cursor, as: UInt64.self))
                let quote = word ^ 0x2222_2222_2222_2222
                let backslash = word ^ 0x5C5C_5C5C_5C5C_5C5C
                let marks = ((quote &- 0x0101_0101_0101_0101) & ~quote)
                    | ((backslash &- 0x0101_0101_0101_0101) & ~backslash)
                    | ((word &- 0x2020_2020_2020_2020) & ~word)
                let found = marks & 0x8080_8080_8080_8080
                if found != 0 { return cursor + found.trailingZeroBitCount >> 3 }
                cursor += 8
            }
        }
        while cursor < end {
            let byte = bytes[cursor]
            if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") || byte < 0x20 { return cursor }
            cursor += 1
        }
        return end
    }

    private mutating func escapedString(from start: Int) -> String? {
        var out: [UInt8] = []
        out.reserveCapacity(end - start)
        var cursor = start
        while cursor < end {
            let byte = bytes[cursor]
            cursor += 1
            if byte == UInt8(ascii: "\"") {
                index = cursor
                return String(decoding: out, as: UTF8.self)
            }
            if byte < 0x20 { return nil }
            guard byte == UInt8(ascii: "\\") else {
                out.append(byte)
                continue
            }
            guard cursor < end else { return nil }
            let escape = bytes[cursor]
            cursor += 1
            switch escape {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(escape)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                guard var scalar = hex4(at: cursor) else { return nil }
                cursor += 4
                if (0xD800..<0xDC00).contains(scalar) {
                    // A high surrogate must be followed by an escaped low surrogate.
                    guard cursor + 1 < end, bytes[cursor] == UInt8(ascii: "\\"), bytes[cursor + 1] == UInt8(ascii: "u"),
                          let low = hex4(at: cursor + 2), (0xDC00..<0xE000).contains(low) else { return nil }
                    cursor += 6
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                } else if (0xDC00..<0xE000).contains(scalar) {
                    return nil
                }
                guard let unicode = Unicode.Scalar(scalar) else { return nil }
                out.append(contentsOf: UTF8.encode(unicode)!)
            default:
                return nil
            }
        }
        return nil
    }

    private func hex4(at position: Int) -> UInt32? {
        guard position + 4 <= end else { return nil }
        var value: UInt32 = 0
        for offset in 0..<4 {
            let byte = bytes[position + offset]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: return nil
            }
            value = value << 4 | UInt32(digit)
        }
        return value
    }

    /// A plain integer (no fraction or exponent, at most 18 digits).
    mutating func integer() -> Int? {
        skipWhitespace()
        var negative = false
        if consume(UInt8(ascii: "-")) { negative = true }
        var value = 0
        var digits = 0
        while index < end, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") {
            value = value * 10 + Int(bytes[index] - UInt8(ascii: "0"))
            digits += 1
            index += 1
        }
        guard digits > 0, digits <= 18 else { return nil }
        if index < end, bytes[index] == UInt8(ascii: ".") || bytes[index] | 0x20 == UInt8(ascii: "e") { return nil }
        return negative ? -value : value
    }

    mutating func bool() -> Bool? {
        if literal(Self.kTrue) { return true }
        if literal(Self.kFalse) { return false }
        return nil
    }

    /// Consumes `null` if it is next.
    mutating func null() -> Bool { literal(Self.kNull) }

    private mutating func literal(_ word: StaticString) -> Bool {
        skipWhitespace()
        let count = word.utf8CodeUnitCount
        guard end - index >= count, bytes[index..<index + count].matches(word) else { return false }
        index += count
        return true
    }

    private mutating func consume(_ byte: UInt8) -> Bool {
        guard index < end, bytes[index] == byte else { return false }
        index += 1
        return true
    }

    mutating func skipWhitespace() {
        while index < end {
            switch bytes[index] {
            case 0x20, 0x0A, 0x0D, 0x09: index += 1
            default: return
            }
        }
    }

    // MARK: Key bytes

    // Computed, not stored: a stored static is initialised through `swift_once`, checked at every use, and the
    // scanner compares keys several times per message.
    static var kOp: StaticString { "op" }
    static var kS: StaticString { "s" }
    static var kT: StaticString { "t" }
    static var kD: StaticString { "d" }
    static var kMessageCreate: StaticString { "MESSAGE_CREATE" }
    static var kID: StaticString { "id" }
    static var kChannelID: StaticString { "channel_id" }
    static var kGuildID: StaticString { "guild_id" }
    static var kAuthor: StaticString { "author" }
    static var kContent: StaticString { "content" }
    static var kTimestamp: StaticString { "timestamp" }
    static var kWebhookID: StaticString { "webhook_id" }
    static var kMentions: StaticString { "mentions" }
    static var kMentionRoles: StaticString { "mention_roles" }
    static var kMessageReference: StaticString { "message_reference" }
    static var kMessageID: StaticString { "message_id" }
    static var kAttachments: StaticString { "attachments" }
    static var kMember: StaticString { "member" }
    static var kRoles: StaticString { "roles" }
    static var kNick: StaticString { "nick" }
    static var kUsername: StaticString { "username" }
    static var kGlobalName: StaticString { "global_name" }
    static var kBot: StaticString { "bot" }
    static var kTrue: StaticString { "true" }
    static var kFalse: StaticString { "false" }
    static var kNull: StaticString { "null" }
}

/// Lets a `switch` over key bytes match the key literals: lengths first, then the bytes.
private func ~= (pattern: StaticString, value: UnsafeBufferPointer<UInt8>.SubSequence) -> Bool {
    value.matches(pattern)
}

extension Slice where Base == UnsafeBufferPointer<UInt8> {
    /// Whether these bytes are exactly `literal`'s.
    func matches(_ literal: StaticString) -> Bool {
        let count = literal.utf8CodeUnitCount
        guard self.count == count else { return false }
        let bytes = literal.utf8Start
        for offset in 0..<count where self[startIndex + offset] != bytes[offset] { return false }
        return true
    }
}

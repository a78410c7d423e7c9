/// A channel to join, with an optional key.
public struct IRCChannelJoin: Hashable, Sendable {
    /// Channel name, e.g. `#lobby`.
    public var name: String
    /// Channel key, if the channel is `+k`.
    public var key: String?

    /// Creates a join entry.
    public init(name: String, key: String? = nil) {
        self.name = name
        self.key = key
    }
}

/// What registration needs to know (secrets here are never logged by this type).
public struct IRCRegistrationConfig: Hashable, Sendable {
    /// Wanted nick.
    public var nick: String
    /// USER name (ident).
    public var username: String
    /// Real name (gecos).
    public var realname: String
    /// Server password (`PASS`), if any.
    public var serverPassword: String?
    /// SASL PLAIN account, if SASL is wanted.
    public var saslAccount: String?
    /// SASL PLAIN password.
    public var saslPassword: String?
    /// Fail registration when SASL fails instead of continuing unauthenticated.
    public var requireSASL: Bool
    /// NickServ password used after 001 when SASL did not succeed (`IDENTIFY <saslAccount> <password>` when an account is set).
    public var nickServPassword: String?
    /// Channels to join after the MOTD.
    public var channels: [IRCChannelJoin]

    /// Creates a configuration.
    public init(nick: String, username: String? = nil, realname: String = "PersonaBridge", serverPassword: String? = nil,
                saslAccount: String? = nil, saslPassword: String? = nil, requireSASL: Bool = false,
                nickServPassword: String? = nil, channels: [IRCChannelJoin] = []) {
        self.nick = nick
        self.username = username ?? nick
        self.realname = realname
        self.serverPassword = serverPassword
        self.saslAccount = saslAccount
        self.saslPassword = saslPassword
        self.requireSASL = requireSASL
        self.nickServPassword = nickServPassword
        self.channels = channels
    }
}

/// Why registration failed.
public struct IRCRegistrationError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Error category.
    public struct Code: Hashable, Sendable {
        let raw: String
        /// SASL was required and failed or was not offered.
        public static let saslFailed = Code(raw: "saslFailed")
        /// The server sent ERROR before or during registration.
        public static let serverError = Code(raw: "serverError")
        /// The server refuses this client: a K-, G- or Z-line (465, or an ERROR that says so).
        public static let banned = Code(raw: "banned")
        /// The configured nick (and every alternative) is not a valid nick on this server (432).
        public static let erroneousNick = Code(raw: "erroneousNick")
    }

    /// Error category.
    public let code: Code
    /// Detail from the server.
    public let message: String

    /// Text for logs.
    public var description: String { "IRCRegistrationError(\(code.raw)): \(message)" }
}

/// Server features from 005 ISUPPORT.
public struct IRCISupport: Hashable, Sendable {
    /// Mode letters for member prefixes, highest first (`o`, `v`, …).
    public var prefixModes: [Character] = ["o", "v"]
    /// Symbols matching `prefixModes` (`@`, `+`, …).
    public var prefixSymbols: [Character] = ["@", "+"]
    /// CHANMODES groups A,B,C,D.
    public var channelModes: [String] = ["b", "k", "l", "imnpst"]
    /// Maximum nick length.
    public var nickLength: Int?
    /// Maximum line length including CRLF.
    public var lineLength: Int = 512
    /// User mode letter that marks a bot.
    public var botMode: Character?
    /// Case mapping name, e.g. `rfc1459` or `ascii`.
    public var caseMapping: String = "rfc1459"
    /// Every token seen, value or empty string.
    public var tokens: [String: String] = [:]

    /// Creates defaults (RFC 1459).
    public init() {}

    /// Applies the tokens of one 005 line (params between the nick and the trailing text).
    public mutating func apply(_ message: IRCMessage) {
        guard message.params.count >= 2 else { return }
        for token in message.params.dropFirst().dropLast() {
            let parts = token.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = String(parts[0]).uppercased()
            let value = parts.count > 1 ? String(parts[1]) : ""
            if key.hasPrefix("-") { tokens[String(key.dropFirst())] = nil; continue }
            tokens[key] = value
            switch key {
            case "PREFIX":
                // Format: (modes)symbols
                if value.hasPrefix("("), let close = value.firstIndex(of: ")") {
                    let modes = Array(value[value.index(after: value.startIndex)..<close])
                    let symbols = Array(value[value.index(after: close)...])
                    if modes.count == symbols.count { prefixModes = modes; prefixSymbols = symbols }
                }
            case "CHANMODES": channelModes = value.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            case "NICKLEN": nickLength = Int(value)
            case "LINELEN": if let n = Int(value), n >= 512 { lineLength = n }
            case "BOT": botMode = value.first ?? "B"
            case "CASEMAPPING": caseMapping = value.lowercased()
            default: break
            }
        }
    }
}

/// Something the registration machine wants done.
public enum IRCRegistrationAction: Hashable, Sendable {
    /// Send this line.
    case send(IRCMessage)
    /// Registration finished with this nick (after 001).
    case registered(nick: String)
    /// Registration cannot continue; close the connection.
    case failed(IRCRegistrationError)
}

/// Registration state machine: CAP LS 302, SASL PLAIN, NICK/USER, 001/005, bot mode, 433 handling, JOIN.
public struct IRCRegistration: Sendable {
    /// Registration phase.
    public enum Phase: Hashable, Sendable {
        /// `start()` not yet called.
        case idle
        /// CAP negotiation and NICK/USER sent, waiting for 001.
        case registering
        /// 001 received.
        case registered
        /// Gave up; see the `.failed` action.
        case failed
    }

    /// Capabilities we request when offered (`sasl` only with credentials).
    public static let wantedCapabilities = ["message-tags", "server-time", "echo-message", "multi-prefix", "account-tag", "batch", "sasl"]

    /// The configuration.
    public let config: IRCRegistrationConfig
    /// Current phase.
    public private(set) var phase: Phase = .idle
    /// Our current nick (the real one after 001).
    public private(set) var nick: String
    /// Capabilities offered by the server (name → value).
    public private(set) var offeredCapabilities: [String: String] = [:]
    /// Capabilities the server acknowledged.
    public private(set) var enabledCapabilities: Set<String> = []
    /// Whether SASL succeeded.
    public private(set) var saslSucceeded = false
    /// Parsed ISUPPORT.
    public private(set) var isupport = IRCISupport()
    private var capEnded = false
    private var joined = false
    private var botModeSet = false
    private var nickAttempt = 0

    /// Creates a machine for `config`.
    public init(config: IRCRegistrationConfig) {
        self.config = config
        self.nick = config.nick
    }

    private var wantsSASL: Bool { config.saslAccount != nil && config.saslPassword != nil }

    /// The opening lines: `CAP LS 302`, optional `PASS`, `NICK`, `USER`.
    public mutating func start() -> [IRCRegistrationAction] {
        phase = .registering
        var out: [IRCRegistrationAction] = [.send(IRCMessage(command: "CAP", params: ["LS", "302"]))]
        if let pass = config.serverPassword { out.append(.send(IRCMessage(command: "PASS", params: [pass]))) }
        out.append(.send(IRCMessage(command: "NICK", params: [nick])))
        out.append(.send(IRCMessage(command: "USER", params: [config.username, "0", "*", config.realname])))
        return out
    }

    /// Tries to take the configured nick back when we are using an alternative.
    public func regainNick() -> [IRCRegistrationAction] {
        guard phase == .registered, IRCCaseMapping(isupport.caseMapping).fold(nick) != IRCCaseMapping(isupport.caseMapping).fold(config.nick)
        else { return [] }
        return [.send(IRCMessage(command: "NICK", params: [config.nick]))]
    }

    /// Feeds one server line; PING is answered in every phase.
    public mutating func handle(_ message: IRCMessage) -> [IRCRegistrationAction] {
        switch message.command {
        case "PING":
            return [.send(IRCMessage(command: "PONG", params: message.params.isEmpty ? [""] : message.params))]
        case "ERROR":
            guard phase != .registered else { return [] }
            let text = message.params.last ?? "ERROR"
            let lowered = text.lowercased()
            let isBan = ["k-lined", "g-lined", "z-lined", "k-line", "g-line", "z-line", "banned"].contains { lowered.contains($0) }
            return fail(isBan ? .banned : .serverError, text)
        case "465":
            return fail(.banned, message.params.last ?? "banned from this server")
        case "CAP":
            return handleCap(message)
        case "AUTHENTICATE":
            guard message.params.first == "+" else { return [] }
            return saslPayload()
        case "903":
            saslSucceeded = true
            return endCap()
        case "904", "905", "906", "908":
            if config.requireSASL { return fail(.saslFailed, message.params.last ?? "SASL failed") }
            return endCap()
        case "001":
            phase = .registered
            if let first = message.params.first, !first.isEmpty { nick = first }
            var out: [IRCRegistrationAction] = [.registered(nick: nick)]
            if !saslSucceeded, let pw = config.nickServPassword {
                // With an account name, the two-argument form works whatever nick we got (Atheme, Anope).
                let identify = config.saslAccount.map { "IDENTIFY \($0) \(pw)" } ?? "IDENTIFY \(pw)"
                out.append(.send(IRCMessage(command: "PRIVMSG", params: ["NickServ", identify])))
            }
            return out
        case "005":
            isupport.apply(message)
            if phase == .registered, !botModeSet, let mode = isupport.botMode {
                botModeSet = true
                return [.send(IRCMessage(command: "MODE", params: [nick, "+\(mode)"]))]
            }
            return []
        case "376", "422":
            return joinChannels()
        case "432":
            guard phase == .registering else { return [] }
            // Unlike a taken nick, an invalid one stays invalid with underscores added.
            return fail(.erroneousNick, "the server rejects the nick '\(nick)': \(message.params.last ?? "erroneous nickname")")
        case "433", "436":
            guard phase == .registering else { return [] }
            nickAttempt += 1
            var candidate = config.nick + String(repeating: "_", count: nickAttempt)
            if let limit = isupport.nickLength, candidate.count > limit {
                candidate = String(config.nick.prefix(max(1, limit - 3))) + String(nickAttempt % 1000)
            }
            nick = candidate
            return [.send(IRCMessage(command: "NICK", params: [candidate]))]
        case "NICK":
            let mapping = IRCCaseMapping(isupport.caseMapping)
            if let from = message.prefix?.nick, mapping.fold(from) == mapping.fold(nick), let to = message.params.first {
                nick = to
            }
            return []
        default:
            return []
        }
    }

    private mutating func fail(_ code: IRCRegistrationError.Code, _ text: String) -> [IRCRegistrationAction] {
        phase = .failed
        return [.failed(IRCRegistrationError(code: code, message: text))]
    }

    private mutating func handleCap(_ message: IRCMessage) -> [IRCRegistrationAction] {
        guard message.params.count >= 3 else { return [] }
        let sub = message.params[1].uppercased()
        let more = message.params.count >= 4 && message.params[2] == "*"
        let list = message.params.last ?? ""
        switch sub {
        case "LS":
            for item in list.split(separator: " ") {
                let parts = item.split(separator: "=", maxSplits: 1)
                offeredCapabilities[String(parts[0])] = parts.count > 1 ? String(parts[1]) : ""
            }
            if more || capEnded { return [] }
            let request = Self.wantedCapabilities.filter { cap in
                guard offeredCapabilities[cap] != nil else { return false }
                if cap == "sasl" {
                    guard wantsSASL else { return false }
                    let mechs = offeredCapabilities[cap] ?? ""
                    return mechs.isEmpty || mechs.split(separator: ",").contains("PLAIN")
                }
                return true
            }
            if request.isEmpty {
                if wantsSASL && config.requireSASL { return fail(.saslFailed, "server does not offer SASL PLAIN") }
                return endCap()
            }
            return [.send(IRCMessage(command: "CAP", params: ["REQ", request.joined(separator: " ")]))]
        case "ACK":
            for item in list.split(separator: " ") {
                if item.hasPrefix("-") { enabledCapabilities.remove(String(item.dropFirst())) } else { enabledCapabilities.insert(String(item)) }
            }
            if more || capEnded { return [] }
            if wantsSASL && enabledCapabilities.contains("sasl") {
                return [.send(IRCMessage(command: "AUTHENTICATE", params: ["PLAIN"]))]
            }
            if wantsSASL && config.requireSASL { return fail(.saslFailed, "server does not offer SASL PLAIN") }
            return endCap()
        case "NAK":
            if wantsSASL && config.requireSASL { return fail(.saslFailed, "capability request rejected: \(list)") }
            return endCap()
        case "NEW":
            return []
        case "DEL":
            for item in list.split(separator: " ") { enabledCapabilities.remove(String(item)) }
            return []
        default:
            return []
        }
    }

    private mutating func endCap() -> [IRCRegistrationAction] {
        guard !capEnded else { return [] }
        capEnded = true
        return [.send(IRCMessage(command: "CAP", params: ["END"]))]
    }

    private func saslPayload() -> [IRCRegistrationAction] {
        let account = config.saslAccount ?? ""
        let raw = Array(account.utf8) + [0] + Array(account.utf8) + [0] + Array((config.saslPassword ?? "").utf8)
        let encoded = Array(Base64.encode(raw).utf8)
        var out: [IRCRegistrationAction] = []
        var index = 0
        while index < encoded.count {
            let end = min(index + 400, encoded.count)
            out.append(.send(IRCMessage(command: "AUTHENTICATE", params: [String(decoding: encoded[index..<end], as: UTF8.self)])))
            index = end
        }
        // An exact multiple of 400 (or empty payload) needs a lone "+" to mark the end.
        if encoded.count % 400 == 0 { out.append(.send(IRCMessage(command: "AUTHENTICATE", params: ["+"]))) }
        return out
    }

    private mutating func joinChannels() -> [IRCRegistrationAction] {
        guard !joined, !config.channels.isEmpty else { return [] }
        joined = true
        // Keyed channels first so the key list lines up with the channel list.
        let keyed = config.channels.filter { $0.key != nil }
        let open = config.channels.filter { $0.key == nil }
        let names = (keyed + open).map(\.name).joined(separator: ",")
        var params = [names]
        if !keyed.isEmpty { params.append(keyed.compactMap(\.key).joined(separator: ",")) }
        return [.send(IRCMessage(command: "JOIN", params: params))]
    }
}

/// Standard base64 without line breaks (no Foundation needed).
enum Base64 {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var i = 0
        while i < bytes.count {
            let b0 = bytes[i]
            let b1 = i + 1 < bytes.count ? bytes[i + 1] : 0
            let b2 = i + 2 < bytes.count ? bytes[i + 2] : 0
            out.append(alphabet[Int(b0 >> 2)])
            out.append(alphabet[Int((b0 & 0x03) << 4 | b1 >> 4)])
            out.append(i + 1 < bytes.count ? alphabet[Int((b1 & 0x0F) << 2 | b2 >> 6)] : UInt8(ascii: "="))
            out.append(i + 2 < bytes.count ? alphabet[Int(b2 & 0x3F)] : UInt8(ascii: "="))
            i += 3
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// IRC nick/channel case folding (`rfc1459`, `strict-rfc1459` or `ascii`).
public struct IRCCaseMapping: Hashable, Sendable {
    /// Mapping name as in ISUPPORT.
    public let name: String

    /// Creates a mapping from its ISUPPORT name; unknown names fold like rfc1459.
    public init(_ name: String) { self.name = name.lowercased() }

    /// Folds `s` to its canonical lower-case form.
    public func fold(_ s: String) -> String {
        var out = String.UnicodeScalarView()
        for scalar in s.unicodeScalars {
            switch scalar {
            case "A"..."Z": out.append(Unicode.Scalar(scalar.value + 32)!)
            case "[" where name != "ascii": out.append("{")
            case "]" where name != "ascii": out.append("}")
            case "\\" where name != "ascii": out.append("|")
            case "~" where name != "ascii" && name != "strict-rfc1459": out.append("^")
            default: out.append(scalar)
            }
        }
        return String(out)
    }

    /// Whether two nicks or channels are the same under this mapping.
    public func equal(_ a: String, _ b: String) -> Bool { fold(a) == fold(b) }
}

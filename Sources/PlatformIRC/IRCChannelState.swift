/// Channel membership and member prefix modes, tracked from NAMES, JOIN, PART, QUIT, KICK, NICK and MODE.
public struct IRCChannelState: Sendable {
    struct Member: Hashable, Sendable {
        var nick: String
        var modes: Set<Character>
    }

    struct Channel: Hashable, Sendable {
        var name: String
        var members: [String: Member] = [:]
        var pendingNames: [String: Member]?
    }

    /// Server features (PREFIX, CHANMODES, CASEMAPPING); keep in sync with registration.
    public var isupport: IRCISupport
    /// Our current nick.
    public var ourNick: String
    private var channels: [String: Channel] = [:]

    /// Creates empty state.
    public init(ourNick: String, isupport: IRCISupport = IRCISupport()) {
        self.ourNick = ourNick
        self.isupport = isupport
    }

    private var mapping: IRCCaseMapping { IRCCaseMapping(isupport.caseMapping) }

    /// Channels we are in (display names).
    public var joinedChannels: [String] { channels.values.map(\.name).sorted() }

    /// Nicks in `channel`, sorted.
    public func members(of channel: String) -> [String] {
        channels[mapping.fold(channel)]?.members.values.map(\.nick).sorted() ?? []
    }

    /// Prefix mode letters (`o`, `v`, …) that `nick` holds in `channel`.
    public func modes(of nick: String, in channel: String) -> Set<Character> {
        channels[mapping.fold(channel)]?.members[mapping.fold(nick)]?.modes ?? []
    }

    /// Whether `nick` is a channel operator (or higher; half-op counts when `includeHalfOps`).
    public func isOperator(_ nick: String, in channel: String, includeHalfOps: Bool = false) -> Bool {
        let held = modes(of: nick, in: channel)
        let ranked = isupport.prefixModes
        let opRank = ranked.firstIndex(of: "o") ?? 0
        for mode in held {
            guard let rank = ranked.firstIndex(of: mode) else { continue }
            if rank <= opRank { return true }
            if includeHalfOps && mode == "h" { return true }
        }
        return false
    }

    /// Applies one server line.
    public mutating func handle(_ message: IRCMessage) {
        let mapping = self.mapping
        let source = message.prefix?.nick ?? ""
        let p = message.params
        switch message.command {
        case "353":
            guard p.count >= 4 else { return }
            let key = mapping.fold(p[2])
            var channel = channels[key] ?? Channel(name: p[2])
            var pending = channel.pendingNames ?? [:]
            for entry in p[3].split(separator: " ") {
                var modes = Set<Character>()
                var rest = Substring(entry)
                while let first = rest.first, let i = isupport.prefixSymbols.firstIndex(of: first) {
                    modes.insert(isupport.prefixModes[i])
                    rest = rest.dropFirst()
                }
                // userhost-in-names sends nick!user@host
                let nick = String(rest.split(separator: "!", maxSplits: 1).first ?? rest)
                guard !nick.isEmpty else { continue }
                pending[mapping.fold(nick)] = Member(nick: nick, modes: modes)
            }
            channel.pendingNames = pending
            channels[key] = channel
        case "366":
            guard p.count >= 2, var channel = channels[mapping.fold(p[1])] else { return }
            if let pending = channel.pendingNames { channel.members = pending }
            channel.pendingNames = nil
            channels[mapping.fold(p[1])] = channel
        case "JOIN":
            guard let name = p.first else { return }
            let key = mapping.fold(name)
            if mapping.equal(source, ourNick) { channels[key] = Channel(name: name) }
            channels[key]?.members[mapping.fold(source)] = Member(nick: source, modes: [])
        case "PART":
            guard let name = p.first else { return }
            remove(source, from: name)
        case "KICK":
            guard p.count >= 2 else { return }
            remove(p[1], from: p[0])
        case "QUIT":
            for key in channels.keys { channels[key]?.members[mapping.fold(source)] = nil }
        case "NICK":
            guard let newNick = p.first else { return }
            let oldKey = mapping.fold(source)
            for key in channels.keys {
                if var member = channels[key]?.members.removeValue(forKey: oldKey) {
                    member.nick = newNick
                    channels[key]?.members[mapping.fold(newNick)] = member
                }
            }
            if mapping.equal(source, ourNick) { ourNick = newNick }
        case "MODE":
            guard p.count >= 2, channels[mapping.fold(p[0])] != nil else { return }
            applyModes(channel: p[0], modeString: p[1], arguments: Array(p.dropFirst(2)))
        default:
            return
        }
    }

    private mutating func remove(_ nick: String, from name: String) {
        let mapping = self.mapping
        let key = mapping.fold(name)
        if mapping.equal(nick, ourNick) { channels[key] = nil } else { channels[key]?.members[mapping.fold(nick)] = nil }
    }

    private mutating func applyModes(channel name: String, modeString: String, arguments: [String]) {
        let mapping = self.mapping
        let key = mapping.fold(name)
        let groups = isupport.channelModes + Array(repeating: "", count: max(0, 4 - isupport.channelModes.count))
        var adding = true
        var argIndex = 0
        for mode in modeString {
            switch mode {
            case "+": adding = true; continue
            case "-": adding = false; continue
            default: break
            }
            let takesArgument: Bool
            if isupport.prefixModes.contains(mode) || groups[0].contains(mode) || groups[1].contains(mode) {
                takesArgument = true
            } else if groups[2].contains(mode) {
                takesArgument = adding
            } else {
                takesArgument = false
            }
            var argument: String?
            if takesArgument, argIndex < arguments.count { argument = arguments[argIndex]; argIndex += 1 }
            guard isupport.prefixModes.contains(mode), let target = argument else { continue }
            let memberKey = mapping.fold(target)
            if adding {
                channels[key]?.members[memberKey]?.modes.insert(mode)
            } else {
                channels[key]?.members[memberKey]?.modes.remove(mode)
            }
        }
    }
}

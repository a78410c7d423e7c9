import BridgeConfig

/// Decides, without any model call, whether a message gets a reply and from which persona.
///
/// Value type: per-channel state (cooldown, bot-turn count) lives inside; time and randomness are injected.
public struct TriggerPolicy: Sendable {
    /// A persona bound to the channel, with its effective settings.
    public struct Candidate: Hashable, Sendable {
        /// Persona id.
        public var name: String
        /// Names it answers to (id, display name, aliases); matched as whole words, case-insensitively.
        public var callNames: [String]
        /// Effective trigger settings for this channel.
        public var settings: TriggerSettings

        /// Creates a candidate.
        public init(name: String, callNames: [String], settings: TriggerSettings) {
            self.name = name
            self.callNames = callNames
            self.settings = settings
        }

        /// A candidate from a persona and its effective settings.
        public init(persona: Persona, settings: TriggerSettings) {
            self.init(name: persona.name, callNames: [persona.name, persona.displayName] + persona.aliases, settings: settings)
        }
    }

    /// What the policy sees of a message.
    public struct Message: Hashable, Sendable {
        /// Channel key.
        public var channel: String
        /// Text.
        public var text: String
        /// Whether the author is a bot (not us).
        public var fromBot: Bool
        /// Whether we sent it.
        public var isOwn: Bool
        /// Whether it mentions our account.
        public var mentionsUs: Bool
        /// The persona whose message this one replies to, if it replies to one of ours.
        public var repliesToPersona: String?

        /// Creates a message view.
        public init(channel: String, text: String, fromBot: Bool = false, isOwn: Bool = false, mentionsUs: Bool = false,
                    repliesToPersona: String? = nil) {
            self.channel = channel
            self.text = text
            self.fromBot = fromBot
            self.isOwn = isOwn
            self.mentionsUs = mentionsUs
            self.repliesToPersona = repliesToPersona
        }
    }

    /// Why the policy decided as it did.
    public enum Reason: String, Hashable, Sendable {
        /// Our account was mentioned.
        case mention
        /// A reply to one of our messages.
        case reply
        /// The persona's name appeared as a word.
        case name
        /// The `always` mode.
        case always
        /// The talkativeness roll succeeded.
        case talkative
        /// Our own message.
        case ownMessage
        /// Another bot, and bots are not answered.
        case bot
        /// Too many bot turns in a row.
        case botLoop
        /// The channel is cooling down.
        case cooldown
        /// Nobody was addressed and no persona chose to speak.
        case notAddressed
        /// No persona is bound.
        case noPersona
    }

    /// The outcome for one message.
    public enum Decision: Hashable, Sendable {
        /// The persona should reply.
        case reply(persona: String, reason: Reason)
        /// No reply (the message still goes to history).
        case ignore(Reason)

        /// The replying persona, if any.
        public var persona: String? {
            if case .reply(let persona, _) = self { return persona }
            return nil
        }
    }

    private struct ChannelState: Sendable {
        var lastReply: Duration?
        var botTurns = 0
    }

    private var channels: [String: ChannelState] = [:]

    private static func countTurn(_ state: inout ChannelState, fromBot: Bool) -> ChannelState {
        if fromBot { state.botTurns += 1 } else { state.botTurns = 0 }
        return state
    }

    /// Creates a policy with no history.
    public init() {}

    /// Decides on a message at elapsed time `now`; also counts bot turns.
    public mutating func decide(_ message: Message, candidates: [Candidate], now: Duration,
                                using random: inout some RandomNumberGenerator) -> Decision {
        decide(message, candidates: candidates, named: Self.firstNamed(in: message.text, candidates: candidates), now: now,
               using: &random)
    }

    /// The same for a message whose text names none of `candidates` (the caller looked already): the text is not
    /// searched again.
    mutating func decideNamingNone(_ message: Message, candidates: [Candidate], now: Duration,
                                   using random: inout some RandomNumberGenerator) -> Decision {
        decide(message, candidates: candidates, named: nil, now: now, using: &random)
    }

    /// `named`: the persona the text names first, if any.
    private mutating func decide(_ message: Message, candidates: [Candidate], named: Candidate?, now: Duration,
                                 using random: inout some RandomNumberGenerator) -> Decision {
        if message.isOwn { return .ignore(.ownMessage) }
        // Changed in place: one look-up of the channel for every message.
        let state = Self.countTurn(&channels[message.channel, default: ChannelState()], fromBot: message.fromBot)
        guard let primary = candidates.first else { return .ignore(.noPersona) }

        // Who is addressed: by name (earliest in the text), then by reply, then by mention (the channel's first persona).
        var addressed: (Candidate, Reason)?
        if let named {
            addressed = (named, .name)
        } else if let replied = message.repliesToPersona, let c = candidates.first(where: { $0.name == replied }) {
            addressed = (c, .reply)
        } else if message.mentionsUs {
            addressed = (primary, .mention)
        }

        if message.fromBot {
            let settings = addressed?.0.settings ?? primary.settings
            guard settings.respondToBots else { return .ignore(.bot) }
            if state.botTurns > settings.maxBotTurns { return .ignore(.botLoop) }
        }
        if let (candidate, reason) = addressed {
            // A human who addresses a persona is always answered; bots must also respect the cooldown.
            if message.fromBot, inCooldown(state, settings: candidate.settings, now: now) { return .ignore(.cooldown) }
            return .reply(persona: candidate.name, reason: reason)
        }

        // Nobody addressed: each persona may volunteer, at most one speaks.
        var volunteers: [(Candidate, Reason)] = []
        for candidate in candidates where !inCooldown(state, settings: candidate.settings, now: now) {
            switch candidate.settings.mode {
            case .always:
                volunteers.append((candidate, .always))
            case .probability:
                if Self.unitRoll(&random) < candidate.settings.talkativeness {
                    volunteers.append((candidate, .talkative))
                }
            default:
                break
            }
        }
        if volunteers.isEmpty {
            let cooling = candidates.contains { inCooldown(state, settings: $0.settings, now: now) && $0.settings.mode != .mentionOnly }
            return .ignore(cooling ? .cooldown : .notAddressed)
        }
        let pick = volunteers.count == 1 ? volunteers[0] : volunteers[min(volunteers.count - 1, Int(Self.unitRoll(&random) * Double(volunteers.count)))]
        return .reply(persona: pick.0.name, reason: pick.1)
    }

    /// A uniform value in [0, 1) from the top 53 bits of one generator output (one draw per roll, so tests can script it).
    static func unitRoll(_ random: inout some RandomNumberGenerator) -> Double {
        Double(random.next() >> 11) * 0x1p-53
    }

    /// Records that a reply went out in a channel: starts the cooldown and counts a bot turn.
    public mutating func recordReply(channel: String, now: Duration) {
        var state = channels[channel] ?? ChannelState()
        state.lastReply = now
        state.botTurns += 1
        channels[channel] = state
    }

    /// Forgets a channel's state (after `reset`).
    public mutating func reset(channel: String) {
        channels[channel] = nil
    }

    private func inCooldown(_ state: ChannelState, settings: TriggerSettings, now: Duration) -> Bool {
        guard let last = state.lastReply, settings.cooldownSeconds > 0 else { return false }
        return now - last < .milliseconds(Int64(settings.cooldownSeconds * 1000))
    }

    /// The candidate whose name occurs first in the text as a whole word.
    static func firstNamed(in text: String, candidates: [Candidate]) -> Candidate? {
        // Chatter is mostly ASCII: compare bytes, sparing every message a lowercased copy split into Characters.
        if let ascii = asciiFirstNamed(in: text, candidates: candidates) { return ascii }
        let haystack = Array(text.lowercased())
        var best: (position: Int, candidate: Candidate)?
        for candidate in candidates {
            for name in candidate.callNames where !name.isEmpty {
                if let position = wholeWordPosition(of: Array(name.lowercased()), in: haystack),
                   best == nil || position < best!.position {
                    best = (position, candidate)
                }
            }
        }
        return best?.candidate
    }

    /// `firstNamed` for ASCII text and names (byte positions order like Character positions there); `.some(nil)`
    /// when nobody is named, nil when something is not ASCII and the general search must decide.
    private static func asciiFirstNamed(in text: String, candidates: [Candidate]) -> Candidate?? {
        var utf8 = text.utf8
        if utf8.withContiguousStorageIfAvailable({ _ in true }) == nil {
            var copy = text
            copy.makeContiguousUTF8()
            utf8 = copy.utf8
        }
        return utf8.withContiguousStorageIfAvailable { haystack -> Candidate?? in
            guard haystack.allSatisfy({ $0 < 0x80 }) else { return nil }
            func lower(_ b: UInt8) -> UInt8 { b >= 0x41 && b <= 0x5A ? b | 0x20 : b }
            func isWord(_ b: UInt8) -> Bool {
                (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x5F
            }
            var best: (position: Int, candidate: Candidate)?
            for candidate in candidates {
                for name in candidate.callNames where !name.isEmpty {
                    // The name's own bytes, lowered as they are compared: no copy per name per message.
                    let found = name.utf8.withContiguousStorageIfAvailable { needle -> Bool? in
                        guard needle.allSatisfy({ $0 < 0x80 }) else { return nil }
                        guard needle.count <= haystack.count else { return false }
                        let first = lower(needle[0])
                        var i = 0
                        search: while i + needle.count <= haystack.count {
                            defer { i += 1 }
                            if let found = best, i >= found.position { break }
                            guard lower(haystack[i]) == first else { continue }
                            for k in 1..<max(1, needle.count) where lower(haystack[i + k]) != lower(needle[k]) { continue search }
                            let beforeOK = i == 0 || !isWord(haystack[i - 1])
                            let after = i + needle.count
                            let afterOK = after == haystack.count || !isWord(haystack[after])
                            if beforeOK && afterOK {
                                best = (i, candidate)
                                return true
                            }
                        }
                        return false
                    }
                    // A name that is not ASCII (or not contiguous, which a native string always is): the general search.
                    guard let found, found != nil else { return nil }
                }
            }
            return .some(best?.candidate)
        } ?? nil
    }

    private static func wholeWordPosition(of needle: [Character], in haystack: [Character]) -> Int? {
        guard needle.count <= haystack.count else { return nil }
        func isWordChar(_ c: Character) -> Bool { c.isLetter || c.isNumber || c == "_" }
        var i = 0
        while i + needle.count <= haystack.count {
            if haystack[i] == needle[0], Array(haystack[i..<(i + needle.count)]) == needle {
                let beforeOK = i == 0 || !isWordChar(haystack[i - 1])
                let after = i + needle.count
                let afterOK = after == haystack.count || !isWordChar(haystack[after])
                if beforeOK && afterOK { return i }
            }
            i += 1
        }
        return nil
    }
}

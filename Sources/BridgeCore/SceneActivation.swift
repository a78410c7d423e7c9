import BridgeConfig

/// Chooses which personas of a group scene answer a message, and in what order, as SillyTavern's group chat does
/// (natural, list, pooled, manual).
///
/// Value type: per-channel state (who spoke last, who spoke since the last human message, the bot-turn count and
/// the cooldown) lives inside; time and randomness are injected, so a seeded generator makes every choice repeatable.
public struct SceneActivation: Sendable {
    /// A persona bound to the scene.
    public struct Member: Hashable, Sendable {
        /// Persona id.
        public var name: String
        /// Names it answers to (id, display name, aliases), matched as whole words, case-insensitively.
        public var callNames: [String]
        /// Chance in 0...1 of speaking unaddressed under `natural`.
        public var talkativeness: Double
        /// Muted members are never chosen.
        public var muted: Bool

        /// Creates a member.
        public init(name: String, callNames: [String], talkativeness: Double = SceneSettings.defaultTalkativeness, muted: Bool = false) {
            self.name = name
            self.callNames = callNames
            self.talkativeness = talkativeness
            self.muted = muted
        }
    }

    /// The channel's rules for this decision.
    public struct Rules: Hashable, Sendable {
        /// The strategy.
        public var strategy: ActivationStrategy
        /// Whether the persona that spoke last may be chosen again by a roll or the fallback.
        public var allowSelfResponses: Bool
        /// Minimum seconds after a reply before personas speak unaddressed again.
        public var cooldownSeconds: Double
        /// Cap on consecutive bot turns, which also caps how many personas answer one message.
        public var maxBotTurns: Int
        /// Whether other bots' messages may activate anyone.
        public var respondToBots: Bool

        /// Creates rules.
        public init(strategy: ActivationStrategy, allowSelfResponses: Bool = false, cooldownSeconds: Double = 0,
                    maxBotTurns: Int = 3, respondToBots: Bool = false) {
            self.strategy = strategy
            self.allowSelfResponses = allowSelfResponses
            self.cooldownSeconds = cooldownSeconds
            self.maxBotTurns = maxBotTurns
            self.respondToBots = respondToBots
        }
    }

    /// Why a persona was chosen.
    public enum Reason: String, Hashable, Sendable {
        /// Named in the message (or the message replies to it).
        case named
        /// Its talkativeness roll succeeded.
        case talkative
        /// Nobody was chosen but the message addressed the scene.
        case fallback
        /// `list`: everyone speaks.
        case listed
        /// `pooled`: its turn from the pool.
        case pooled
    }

    /// Why nobody speaks.
    public enum Silence: String, Hashable, Sendable {
        /// `manual`: only `next NAME` makes a persona speak.
        case manual
        /// Another bot, and bots are not answered.
        case bot
        /// Too many bot turns in a row.
        case botLoop
        /// The scene is cooling down after a reply.
        case cooldown
        /// Nobody was named, no roll succeeded, and the scene was not addressed.
        case notAddressed
        /// Every member is muted (or none is bound).
        case noPersona
    }

    /// One persona's turn in the chain.
    public struct Turn: Hashable, Sendable {
        /// Persona id.
        public var persona: String
        /// Why it speaks.
        public var reason: Reason

        /// Creates a turn.
        public init(_ persona: String, _ reason: Reason) {
            self.persona = persona
            self.reason = reason
        }
    }

    /// The decision on one message.
    public enum Outcome: Hashable, Sendable {
        /// These personas answer, one after another, in this order.
        case speak([Turn])
        /// Nobody answers (the message still goes to history).
        case silent(Silence)

        /// The chain, empty when silent.
        public var turns: [Turn] {
            if case .speak(let turns) = self { return turns }
            return []
        }
    }

    private struct ChannelState: Sendable {
        var lastSpeaker: String?
        /// Personas that replied since the last human message, in order.
        var spokenSinceHuman: [String] = []
        var botTurns = 0
        var lastReply: Duration?
    }

    private var channels: [String: ChannelState] = [:]

    /// Creates a state machine with no history.
    public init() {}

    /// Decides who answers `message` at elapsed time `now`; counts bot turns.
    public mutating func activate(_ message: TriggerPolicy.Message, members: [Member], rules: Rules, now: Duration,
                                  using random: inout some RandomNumberGenerator) -> Outcome {
        var state = channels[message.channel] ?? ChannelState()
        // The pool is measured against the human message before this one: a human message starts a new round.
        let spokenBefore = state.spokenSinceHuman
        if message.fromBot {
            state.botTurns += 1
        } else {
            state.botTurns = 0
            state.spokenSinceHuman = []
        }
        channels[message.channel] = state
        if message.fromBot {
            guard rules.respondToBots else { return .silent(.bot) }
            if state.botTurns > rules.maxBotTurns { return .silent(.botLoop) }
        }
        let present = members.filter { !$0.muted }
        guard !present.isEmpty else { return .silent(.noPersona) }
        if rules.strategy == .manual { return .silent(.manual) }

        let previous = rules.allowSelfResponses ? nil : state.lastSpeaker
        // Named personas speak first, in the order the text names them; a reply to a persona names it too. A human
        // who names the last speaker is answered by it; another bot's message does not bring it back.
        var named: [Member] = []
        var unnamed = message.fromBot ? present.filter { $0.name != previous } : present
        while let hit = Self.firstNamed(in: message.text, among: unnamed) {
            named.append(hit)
            unnamed.removeAll { $0.name == hit.name }
        }
        if let replied = message.repliesToPersona, let member = unnamed.first(where: { $0.name == replied }) {
            named.append(member)
            unnamed.removeAll { $0.name == replied }
        }
        let addressed = !named.isEmpty || message.mentionsUs || message.repliesToPersona != nil
        let cooling = inCooldown(state, seconds: rules.cooldownSeconds, now: now)
        if message.fromBot && cooling { return .silent(.cooldown) }

        var turns: [Turn] = named.map { Turn($0.name, .named) }
        switch rules.strategy {
        case .list:
            if cooling && !addressed { return .silent(.cooldown) }
            turns = present.map { Turn($0.name, .listed) }
        case .pooled:
            if let first = turns.first { turns = [first]; break }
            if cooling && !addressed { return .silent(.cooldown) }
            var pool = present.filter { !spokenBefore.contains($0.name) && $0.name != (message.fromBot ? previous : nil) }
            if pool.isEmpty { pool = present.filter { $0.name != state.lastSpeaker } }
            if pool.isEmpty { pool = present }
            turns = [Turn(pool[Self.index(below: pool.count, using: &random)].name, .pooled)]
        default:
            // natural (and any strategy this build does not know, which the config check refuses)
            if !cooling {
                var shuffled = unnamed.filter { $0.name != previous }
                Self.shuffle(&shuffled, using: &random)
                for member in shuffled where TriggerPolicy.unitRoll(&random) < member.talkativeness {
                    turns.append(Turn(member.name, .talkative))
                }
            }
            if turns.isEmpty && addressed {
                let chatty = present.filter { $0.talkativeness > 0 && $0.name != previous }
                if !chatty.isEmpty {
                    turns = [Turn(chatty[Self.index(below: chatty.count, using: &random)].name, .fallback)]
                }
            }
            if turns.isEmpty { return .silent(cooling ? .cooldown : .notAddressed) }
        }
        // `max_bot_turns` caps the chain: replies to a human count from zero, replies to a bot after its turns.
        let limit = message.fromBot ? rules.maxBotTurns - state.botTurns + 1 : max(1, rules.maxBotTurns)
        return .speak(Array(turns.prefix(max(1, limit))))
    }

    /// Records that `persona` replied in a channel: it is now the last speaker, has spoken since the last human
    /// message, starts the cooldown and counts a bot turn.
    public mutating func recordReply(channel: String, persona: String, now: Duration) {
        var state = channels[channel] ?? ChannelState()
        state.lastSpeaker = persona
        if !state.spokenSinceHuman.contains(persona) { state.spokenSinceHuman.append(persona) }
        state.botTurns += 1
        state.lastReply = now
        channels[channel] = state
    }

    /// The persona that replied last in a channel, if any since the start or the last reset.
    public func lastSpeaker(in channel: String) -> String? { channels[channel]?.lastSpeaker }

    /// Forgets a channel's state (after `reset` or `forget`).
    public mutating func reset(channel: String) {
        channels[channel] = nil
    }

    private func inCooldown(_ state: ChannelState, seconds: Double, now: Duration) -> Bool {
        guard let last = state.lastReply, seconds > 0 else { return false }
        return now - last < .milliseconds(Int64(seconds * 1000))
    }

    /// The member named earliest in `text`, as a whole word.
    static func firstNamed(in text: String, among members: [Member]) -> Member? {
        let candidates = members.map { TriggerPolicy.Candidate(name: $0.name, callNames: $0.callNames, settings: .builtIn) }
        guard let hit = TriggerPolicy.firstNamed(in: text, candidates: candidates) else { return nil }
        return members.first { $0.name == hit.name }
    }

    /// A uniform index below `count` from one draw (our own arithmetic, so a seed gives the same pick on every
    /// toolchain, which the standard library's shuffle does not promise).
    static func index(below count: Int, using random: inout some RandomNumberGenerator) -> Int {
        min(count - 1, Int(TriggerPolicy.unitRoll(&random) * Double(count)))
    }

    /// Fisher–Yates with `index(below:)`.
    static func shuffle<T>(_ items: inout [T], using random: inout some RandomNumberGenerator) {
        guard items.count > 1 else { return }
        for i in stride(from: items.count - 1, to: 0, by: -1) {
            items.swapAt(i, index(below: i + 1, using: &random))
        }
    }
}

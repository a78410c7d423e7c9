import BridgeConfig
@testable import BridgeCore
import Testing

/// Returns the given doubles' worth of values in order (as fractions of UInt64.max).
struct ScriptedRandom: RandomNumberGenerator, Sendable {
    var values: [Double]
    var index = 0
    init(_ values: [Double]) { self.values = values }
    mutating func next() -> UInt64 {
        defer { index += 1 }
        let v = values.isEmpty ? 0 : values[index % values.count]
        return UInt64(v * Double(UInt64.max >> 11)) << 11
    }
}

@Suite struct TriggerPolicyTests {
    let mention = TriggerSettings(mode: .mentionOnly, cooldownSeconds: 10, maxBotTurns: 3, respondToBots: false)
    func candidates(_ settings: TriggerSettings? = nil) -> [TriggerPolicy.Candidate] {
        [TriggerPolicy.Candidate(name: "aria", callNames: ["aria", "Aria Vale"], settings: settings ?? mention),
         TriggerPolicy.Candidate(name: "bolt", callNames: ["bolt"], settings: settings ?? mention)]
    }
    func msg(_ text: String, bot: Bool = false, own: Bool = false, mention: Bool = false, replyTo: String? = nil) -> TriggerPolicy.Message {
        .init(channel: "c", text: text, fromBot: bot, isOwn: own, mentionsUs: mention, repliesToPersona: replyTo)
    }

    @Test func triggers() {
        var policy = TriggerPolicy()
        var rng = ScriptedRandom([0.99])
        #expect(policy.decide(msg("hello all"), candidates: candidates(), now: .zero, using: &rng) == .ignore(.notAddressed))
        #expect(policy.decide(msg("hey", mention: true), candidates: candidates(), now: .zero, using: &rng)
            == .reply(persona: "aria", reason: .mention))
        #expect(policy.decide(msg("nice one", replyTo: "bolt"), candidates: candidates(), now: .zero, using: &rng)
            == .reply(persona: "bolt", reason: .reply))
        #expect(policy.decide(msg("What do you think, BOLT?"), candidates: candidates(), now: .zero, using: &rng)
            == .reply(persona: "bolt", reason: .name))
        #expect(policy.decide(msg("ask aria vale or bolt"), candidates: candidates(), now: .zero, using: &rng)
            == .reply(persona: "aria", reason: .name))
        // Whole words only.
        #expect(policy.decide(msg("the thunderbolts and arias"), candidates: candidates(), now: .zero, using: &rng)
            == .ignore(.notAddressed))
        // Name beats the mention target; own messages are ignored.
        #expect(policy.decide(msg("@bridge bolt?", mention: true), candidates: candidates(), now: .zero, using: &rng)
            == .reply(persona: "bolt", reason: .name))
        #expect(policy.decide(msg("aria", own: true), candidates: candidates(), now: .zero, using: &rng) == .ignore(.ownMessage))
        #expect(policy.decide(msg("aria"), candidates: [], now: .zero, using: &rng) == .ignore(.noPersona))
    }

    @Test("names are found as whole words, case-insensitively, the earliest first: ASCII by bytes, the rest by characters")
    func namesAreFoundWhereverTheyAre() {
        func named(_ text: String, _ names: [[String]]) -> String? {
            let candidates = names.map { TriggerPolicy.Candidate(name: $0[0], callNames: $0, settings: mention) }
            return TriggerPolicy.firstNamed(in: text, candidates: candidates)?.name
        }
        #expect(named("Q, are you there", [["q"]]) == "q", "a one-letter name")
        #expect(named("is that you q", [["q"]]) == "q", "at the very end")
        #expect(named("qq and q_q", [["q"]]) == nil, "inside words")
        #expect(named("bolt then aria", [["aria"], ["bolt"]]) == "bolt", "the earliest, whatever the order of candidates")
        #expect(named("ARIA VALE!", [["aria", "Aria Vale"]]) == "aria")
        #expect(named("ask zoë please", [["zoe", "Zoë"]]) == "zoe", "a name that is not ASCII")
        #expect(named("¿bolt?", [["bolt"]]) == "bolt", "a message that is not ASCII")
        #expect(named("boltzmann", [["bolt"]]) == nil)
    }

    @Test func alwaysAndTalkativenessPickAtMostOne() {
        var policy = TriggerPolicy()
        let always = TriggerSettings(mode: .always, cooldownSeconds: 0)
        var rng = ScriptedRandom([0.7])
        let d = policy.decide(msg("anyone?"), candidates: candidates(always), now: .zero, using: &rng)
        #expect(d == .reply(persona: "bolt", reason: .always))   // 0.7 of two volunteers → index 1

        let talk = TriggerSettings(mode: .probability, talkativeness: 0.5, cooldownSeconds: 0)
        var low = ScriptedRandom([0.2, 0.9, 0.0])     // aria passes, bolt fails
        #expect(policy.decide(msg("hm"), candidates: candidates(talk), now: .zero, using: &low)
            == .reply(persona: "aria", reason: .talkative))
        var high = ScriptedRandom([0.6])
        #expect(policy.decide(msg("hm"), candidates: candidates(talk), now: .zero, using: &high) == .ignore(.notAddressed))
    }

    @Test func cooldownAppliesToVolunteering() {
        var policy = TriggerPolicy()
        let always = TriggerSettings(mode: .always, cooldownSeconds: 10)
        var rng = ScriptedRandom([0.1])
        #expect(policy.decide(msg("a"), candidates: candidates(always), now: .zero, using: &rng).persona != nil)
        policy.recordReply(channel: "c", now: .zero)
        #expect(policy.decide(msg("b"), candidates: candidates(always), now: .seconds(5), using: &rng) == .ignore(.cooldown))
        // A human addressing a persona is still answered during the cooldown.
        #expect(policy.decide(msg("aria?"), candidates: candidates(always), now: .seconds(5), using: &rng).persona == "aria")
        #expect(policy.decide(msg("c"), candidates: candidates(always), now: .seconds(11), using: &rng).persona != nil)
    }

    /// The router's quiet path has searched the text for names already; the policy must then decide (and count bot
    /// turns) exactly as the full search would for a text that names nobody.
    @Test func decidingForATextNamingNoneMatchesTheFullDecision() {
        let settings = TriggerSettings(mode: .mentionOnly, cooldownSeconds: 0, maxBotTurns: 1, respondToBots: true)
        var full = TriggerPolicy()
        var quiet = TriggerPolicy()
        var rng = ScriptedRandom([0.5])
        let texts = [msg("hello all", bot: true), msg("still chatting", bot: true), msg("@bridge hi", bot: true, mention: true),
                     msg("a human"), msg("@bridge hi", bot: true, mention: true), msg("the thunderbolts")]
        var decisions: [TriggerPolicy.Decision] = []
        for message in texts {
            let decision = full.decide(message, candidates: candidates(settings), now: .zero, using: &rng)
            #expect(quiet.decideNamingNone(message, candidates: candidates(settings), now: .zero, using: &rng) == decision)
            decisions.append(decision)
        }
        // The third bot turn in a row hit the loop cap, the bot's turn after a human was answered.
        #expect(decisions[2] == .ignore(.botLoop) && decisions[4] == .reply(persona: "aria", reason: .mention))
    }

    @Test func botsIgnoredUnlessConfiguredAndLoopCapped() {
        var policy = TriggerPolicy()
        var rng = ScriptedRandom([0.1])
        #expect(policy.decide(msg("aria?", bot: true), candidates: candidates(), now: .zero, using: &rng) == .ignore(.bot))

        var chatty = TriggerPolicy()
        let settings = TriggerSettings(mode: .mentionOnly, cooldownSeconds: 0, maxBotTurns: 3, respondToBots: true)
        var replies = 0
        // Another bot keeps addressing aria; every reply of ours is a bot turn too.
        for turn in 0..<10 {
            let d = chatty.decide(msg("aria, your turn \(turn)", bot: true), candidates: candidates(settings),
                                  now: .seconds(Int64(turn)), using: &rng)
            if d.persona != nil {
                replies += 1
                chatty.recordReply(channel: "c", now: .seconds(Int64(turn)))
            } else {
                #expect(d == .ignore(.botLoop))
            }
        }
        #expect(replies == 2)   // bot, us, bot, us → the cap of 3 consecutive bot turns stops the loop
        // A human message resets the count.
        #expect(chatty.decide(msg("aria?"), candidates: candidates(settings), now: .seconds(20), using: &rng).persona == "aria")
        chatty.recordReply(channel: "c", now: .seconds(20))
        #expect(chatty.decide(msg("aria!", bot: true), candidates: candidates(settings), now: .seconds(21), using: &rng).persona == "aria")
    }
}

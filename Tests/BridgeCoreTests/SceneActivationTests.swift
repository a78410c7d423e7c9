import BridgeConfig
@testable import BridgeCore
import Testing

/// Draws scripted unit rolls (each value in [0, 1) becomes one generator output), then repeats the last.
struct ScriptedRolls: RandomNumberGenerator {
    var rolls: [Double]
    var index = 0
    init(_ rolls: [Double]) { self.rolls = rolls }
    mutating func next() -> UInt64 {
        let roll = rolls[min(index, rolls.count - 1)]
        index += 1
        return UInt64(roll * 0x1p53) << 11
    }
}

/// The activation state machine alone: no router, no I/O, scripted or seeded dice.
@Suite struct SceneActivationTests {
    static let aria = SceneActivation.Member(name: "aria", callNames: ["aria", "Aria", "the bard"], talkativeness: 0.5)
    static let bolt = SceneActivation.Member(name: "bolt", callNames: ["bolt", "Bolt"], talkativeness: 0.5)
    static let cleo = SceneActivation.Member(name: "cleo", callNames: ["cleo", "Cleo"], talkativeness: 0.5)
    static let members = [aria, bolt, cleo]

    static func human(_ text: String, mentionsUs: Bool = false, repliesTo: String? = nil) -> TriggerPolicy.Message {
        TriggerPolicy.Message(channel: "c", text: text, mentionsUs: mentionsUs, repliesToPersona: repliesTo)
    }

    static func activate(_ machine: inout SceneActivation, _ message: TriggerPolicy.Message, members: [SceneActivation.Member] = members,
                         _ rules: SceneActivation.Rules, rolls: [Double]) -> SceneActivation.Outcome {
        var random = ScriptedRolls(rolls)
        return machine.activate(message, members: members, rules: rules, now: .seconds(100), using: &random)
    }

    @Test func naturalNamedPersonasSpeakFirstInTextOrderWithAliasesAsWholeWords() {
        var machine = SceneActivation()
        // Rolls: the shuffle of the one unnamed member draws nothing; its talkativeness roll 0.9 fails.
        let outcome = Self.activate(&machine, Self.human("Cleo, ask the bard about Boltzmann"), .init(strategy: .natural), rolls: [0.9])
        #expect(outcome == .speak([.init("cleo", .named), .init("aria", .named)]))
    }

    @Test func naturalRollsEachOtherPersonaInShuffledOrder() {
        var machine = SceneActivation()
        // Shuffle of [aria, bolt, cleo]: i=2 draws 0.0 → swap with 0 ([cleo, bolt, aria]); i=1 draws 0.9 → stays.
        // Then rolls: cleo 0.1 < 0.5 speaks, bolt 0.7 does not, aria 0.2 speaks.
        let outcome = Self.activate(&machine, Self.human("what a night"), .init(strategy: .natural), rolls: [0.0, 0.9, 0.1, 0.7, 0.2])
        #expect(outcome == .speak([.init("cleo", .talkative), .init("aria", .talkative)]))
    }

    @Test func naturalFallsBackToOneTalkativePersonaOnlyWhenTheSceneIsAddressed() {
        var machine = SceneActivation()
        let shy = Self.members.map { m in var m = m; m.talkativeness = m.name == "bolt" ? 0 : 0.2; return m }
        let rules = SceneActivation.Rules(strategy: .natural)
        #expect(Self.activate(&machine, Self.human("hello?"), members: shy, rules, rolls: [0.99]) == .silent(.notAddressed))
        // Addressed (the bot account mentioned): every roll fails, then the fallback picks among aria and cleo (bolt has 0).
        let outcome = Self.activate(&machine, Self.human("hello?", mentionsUs: true), members: shy, rules, rolls: [0.99, 0.99, 0.99, 0.99, 0.99, 0.6])
        #expect(outcome == .speak([.init("cleo", .fallback)]))
    }

    @Test func thePreviousSpeakerIsSkippedUnlessSelfResponsesAreAllowed() {
        var machine = SceneActivation()
        let eager = Self.members.map { m in var m = m; m.talkativeness = 1; return m }
        machine.recordReply(channel: "c", persona: "bolt", now: .seconds(1))
        let skipped = Self.activate(&machine, Self.human("go on"), members: eager, .init(strategy: .natural), rolls: [0.5])
        #expect(Set(skipped.turns.map(\.persona)) == ["aria", "cleo"])
        let allowed = Self.activate(&machine, Self.human("go on"), members: eager, .init(strategy: .natural, allowSelfResponses: true), rolls: [0.5])
        #expect(Set(allowed.turns.map(\.persona)) == ["aria", "bolt", "cleo"])
        // A human who names the last speaker is still answered by it.
        let named = Self.activate(&machine, Self.human("Bolt?"), members: Self.members, .init(strategy: .natural), rolls: [0.99])
        #expect(named == .speak([.init("bolt", .named)]))
        // Another bot naming it does not bring it back.
        var fromBot = Self.human("Bolt?")
        fromBot.fromBot = true
        let botRules = SceneActivation.Rules(strategy: .natural, respondToBots: true)
        #expect(Self.activate(&machine, fromBot, members: Self.members, botRules, rolls: [0.99]) == .silent(.notAddressed))
    }

    @Test func listSpeaksEveryUnmutedPersonaInOrderCappedByMaxBotTurns() {
        var machine = SceneActivation()
        var members = Self.members
        #expect(Self.activate(&machine, Self.human("hi all"), members: members, .init(strategy: .list), rolls: [0.5])
            == .speak([.init("aria", .listed), .init("bolt", .listed), .init("cleo", .listed)]))
        members[1].muted = true
        #expect(Self.activate(&machine, Self.human("hi all"), members: members, .init(strategy: .list), rolls: [0.5])
            == .speak([.init("aria", .listed), .init("cleo", .listed)]))
        #expect(Self.activate(&machine, Self.human("hi all"), .init(strategy: .list, maxBotTurns: 2), rolls: [0.5]).turns.count == 2)
    }

    @Test func pooledPicksOnePersonaThatHasNotSpokenSinceTheLastHumanMessage() {
        var machine = SceneActivation()
        let rules = SceneActivation.Rules(strategy: .pooled)
        // First message: everyone is in the pool; 0.5 picks the middle one.
        #expect(Self.activate(&machine, Self.human("one"), rules, rolls: [0.5]) == .speak([.init("bolt", .pooled)]))
        machine.recordReply(channel: "c", persona: "bolt", now: .seconds(1))
        // Bolt spoke since the last human message: the pool is aria and cleo; 0.5 picks cleo.
        #expect(Self.activate(&machine, Self.human("two"), rules, rolls: [0.5]) == .speak([.init("cleo", .pooled)]))
        machine.recordReply(channel: "c", persona: "cleo", now: .seconds(2))
        // Now only cleo spoke since: aria and bolt; 0.0 picks aria.
        #expect(Self.activate(&machine, Self.human("three"), rules, rolls: [0.0]) == .speak([.init("aria", .pooled)]))
    }

    @Test func manualChoosesNobody() {
        var machine = SceneActivation()
        #expect(Self.activate(&machine, Self.human("Aria, are you there?", mentionsUs: true), .init(strategy: .manual), rolls: [0])
            == .silent(.manual))
    }

    @Test func botsNeedRespondToBotsAndStopAtTheBotTurnCap() {
        var machine = SceneActivation()
        var message = Self.human("Aria!")
        message.fromBot = true
        #expect(Self.activate(&machine, message, .init(strategy: .list), rolls: [0]) == .silent(.bot))
        let rules = SceneActivation.Rules(strategy: .list, maxBotTurns: 2, respondToBots: true)
        var machine2 = SceneActivation()
        // This message is the first bot turn: the chain may use the two turns the cap of two leaves.
        #expect(Self.activate(&machine2, message, rules, rolls: [0]).turns.count == 2)
        machine2.recordReply(channel: "c", persona: "aria", now: .seconds(1))
        machine2.recordReply(channel: "c", persona: "bolt", now: .seconds(1))
        #expect(Self.activate(&machine2, message, rules, rolls: [0]) == .silent(.botLoop))
        // A human message resets the count.
        #expect(Self.activate(&machine2, Self.human("hi"), rules, rolls: [0]).turns.count == 2)
    }

    @Test func cooldownHoldsUnaddressedActivationButNotNamedPersonas() {
        var machine = SceneActivation()
        machine.recordReply(channel: "c", persona: "aria", now: .seconds(99))
        let rules = SceneActivation.Rules(strategy: .list, cooldownSeconds: 5)
        #expect(Self.activate(&machine, Self.human("more"), rules, rolls: [0]) == .silent(.cooldown))
        #expect(Self.activate(&machine, Self.human("more, Cleo"), rules, rolls: [0]).turns.count == 3)
        #expect(Self.activate(&machine, Self.human("more, Cleo"), .init(strategy: .natural, cooldownSeconds: 5), rolls: [0])
            == .speak([.init("cleo", .named)]))
    }

    @Test func aSeededGeneratorRepeatsTheSameChoices() {
        func run(seed: UInt64) -> [[String]] {
            var machine = SceneActivation()
            var random = SeededGenerator(seed: seed)
            var spoken: [[String]] = []
            for (i, text) in ["hello", "so", "and then?", "well", "hm"].enumerated() {
                let turns = machine.activate(Self.human(text), members: Self.members, rules: .init(strategy: .natural),
                                             now: .seconds(Int64(i)), using: &random).turns.map(\.persona)
                for name in turns { machine.recordReply(channel: "c", persona: name, now: .seconds(Int64(i))) }
                spoken.append(turns)
            }
            return spoken
        }
        #expect(run(seed: 7) == run(seed: 7))
        #expect(run(seed: 7) != run(seed: 8) || run(seed: 7) != run(seed: 9))
    }

    @Test func commandsParse() {
        #expect(BridgeCommand.parse("!pb next", prefix: "!pb") == .success(.nextAlternative))
        #expect(BridgeCommand.parse("!pb next Bolt", prefix: "!pb") == .success(.scene(.next("Bolt"))))
        #expect(BridgeCommand.parse("!pb scene activation Pooled", prefix: "!pb") == .success(.scene(.activation(.pooled))))
        #expect(BridgeCommand.parse("!pb scene activation off", prefix: "!pb") == .success(.scene(.activation(nil))))
        #expect(BridgeCommand.parse("!pb scene", prefix: "!pb") == .success(.scene(.show)))
        #expect(BridgeCommand.parse("!pb mute cleo", prefix: "!pb") == .success(.scene(.mute("cleo"))))
        #expect(BridgeCommand.parse("!pb unmute cleo", prefix: "!pb") == .success(.scene(.unmute("cleo"))))
        guard case .failure(let error) = BridgeCommand.parse("!pb scene activation chaos", prefix: "!pb") else {
            Issue.record("an unknown activation parsed")
            return
        }
        #expect(error.message.contains("natural, list, pooled, manual"))
        #expect(BridgeCommand.scene(.next("x")).needsModerator == false)
        #expect(BridgeCommand.scene(.mute("x")).needsModerator)
        #expect(BridgeCommand.scene(.activation(.list)).needsModerator)
        #expect(BridgeCommand.scene(.show).needsModerator == false)
    }
}

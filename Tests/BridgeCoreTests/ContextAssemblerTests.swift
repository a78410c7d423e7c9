import BridgeConfig
@testable import BridgeCore
import Foundation
import ModelClient
import pb_bench
import Testing

@Suite struct ContextAssemblerTests {
    let aria = Persona(name: "aria", displayName: "Aria", character: "You are Aria, a wry starship engineer.",
                       examples: [PersonaExample(user: "Can you fix it?", ai: "*wipes hands* Give me five minutes.")])
    let channel = ChannelRef(platform: "discord", channelID: "42", serverID: "7", channelName: "engine-room", serverName: "Starbase")

    func scene() -> [HistoryEntry] {
        [HistoryEntry(sequence: 1, speaker: .human(id: "u1", name: "Alice"), text: "Morning, crew."),
         HistoryEntry(sequence: 2, speaker: .human(id: "u2", name: "Bob"), text: "Aria, the warp core hums."),
         HistoryEntry(sequence: 3, speaker: .persona(name: "aria", displayName: "Aria"), text: "Hums is fine. Rattles is bad."),
         HistoryEntry(sequence: 4, speaker: .persona(name: "bolt", displayName: "Bolt"), text: "Rattling detected."),
         HistoryEntry(sequence: 5, speaker: .human(id: "u3", name: "Cara"), text: "Aria, is Bolt right?")]
    }

    @Test func exactMessageArrayForGroupScene() throws {
        let context = ContextAssembler().assemble(persona: aria, channel: channel, history: scene(),
                                                  userPersonas: ["Cara": "Cara, the ship's captain"])
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let json = String(decoding: try encoder.encode(context.messages), as: UTF8.self)
        let expected = """
        [{"content":"You are Aria, a wry starship engineer.","name":"Aria","role":"system"},\
        {"content":"Can you fix it?","role":"sample_message_user"},\
        {"content":"*wipes hands* Give me five minutes.","name":"Aria","role":"sample_message_ai"},\
        {"content":"People present:\\n- Alice: a person in the chat\\n- Bob: a person in the chat\\n- Bolt: another character in the chat\\n- Cara: Cara, the ship's captain","role":"user_system"},\
        {"content":"Discord · Starbase · engine-room","role":"group"},\
        {"content":"Morning, crew.","name":"Alice","role":"user"},\
        {"content":"Aria, the warp core hums.","name":"Bob","role":"user"},\
        {"content":"Hums is fine. Rattles is bad.","name":"Aria","role":"assistant"},\
        {"content":"Rattling detected.","name":"Bolt","role":"user"},\
        {"content":"Aria, is Bolt right?","name":"Cara","role":"user"}]
        """
        #expect(json == expected)
        #expect(context.anchor == 1)
        #expect(context.historyCount == 5)
    }

    @Test func trimsInBlocksAndKeepsThePrefixStable() {
        // A small budget: 2,000 prompt tokens.
        let budget = TokenBudget(maxOutputTokens: TokenBudget.contextWindow - 3000, safetyMargin: 1000)
        #expect(budget.promptLimit == 2000)
        let assembler = ContextAssembler(budget: budget)
        var history: [HistoryEntry] = []
        var anchor: Int64?
        var anchors: [Int64] = []
        var previous: [ChatMessage] = []
        var stablePrefixTurns = 0
        for turn in 1...300 {
            history.append(HistoryEntry(sequence: Int64(turn), speaker: .human(id: "u\(turn % 3)", name: "User\(turn % 3)"),
                                        text: "Message number \(turn) with some words to take up space."))
            let context = assembler.assemble(persona: aria, channel: channel, history: history, anchor: anchor)
            #expect(budget.estimate(context.messages) <= budget.promptLimit)
            if context.anchor != anchor, let a = context.anchor { anchors.append(a) }
            anchor = context.anchor
            // Cache-friendly: the previous prompt is a prefix of this one on most turns.
            if !previous.isEmpty, Array(context.messages.prefix(previous.count)) == previous { stablePrefixTurns += 1 }
            previous = context.messages
        }
        // Trimming happened, in blocks (many messages at a time), not one message per turn.
        #expect(anchors.count >= 3)
        for (a, b) in zip(anchors, anchors.dropFirst()) { #expect(b - a >= 10) }
        #expect(stablePrefixTurns >= 270)
    }

    @Test func countCapMovesTheAnchorInBlocksWhenOnlyTheNewestAreLoaded() {
        let assembler = ContextAssembler()
        var all: [HistoryEntry] = []
        var anchor: Int64?
        var previous: [ChatMessage] = []
        var stable = 0, moves = 0
        for turn in 1...400 {
            all.append(HistoryEntry(sequence: Int64(turn), speaker: .human(id: "u\(turn % 4)", name: "U\(turn % 4)"), text: "m\(turn)"))
            let loaded = Array(all.suffix(100))   // like Store.recentMessages(limit: 100)
            let context = assembler.assemble(persona: aria, channel: channel, history: loaded, anchor: anchor, maxMessages: 100)
            #expect(context.historyCount < 100)
            if anchor != nil, context.anchor != anchor { moves += 1 }
            anchor = context.anchor
            if !previous.isEmpty, Array(context.messages.prefix(previous.count)) == previous { stable += 1 }
            previous = context.messages
        }
        // Without the cap the window would slide every turn; with it, it jumps 25 messages at a time.
        #expect(moves <= 13)
        #expect(moves >= 10)
        #expect(stable >= 380)
    }

    @Test func userSystemTemplateAndSceneName() {
        var persona = aria
        persona.userSystemTemplate = "{{char}} is talking with:\n{{people}}"
        let context = ContextAssembler().assemble(persona: persona, channel: channel, history: Array(scene().prefix(1)),
                                                  scene: "The engine room")
        #expect(context.messages[3] == ChatMessage(role: .userSystem, content: "Aria is talking with:\nPeople present:\n- Alice: a person in the chat"))
        #expect(context.messages[4] == ChatMessage(role: .group, content: "The engine room"))
    }

    @Test func calibrationFromUsage() {
        var budget = TokenBudget()
        let messages = [ChatMessage(role: .user, content: String(repeating: "word ", count: 300), name: "Al")]
        let raw = TokenBudget.rawEstimate(messages)
        #expect(budget.estimate(messages) == raw)
        // The API counted more than estimated: the estimate grows to at least the observation.
        budget.calibrate(raw: raw, promptTokens: raw * 2)
        #expect(budget.estimate(messages) >= raw * 2)
        // Fewer tokens: it shrinks, but smoothly and never below the latest observation.
        budget.calibrate(raw: raw, promptTokens: raw / 2)
        let after = budget.estimate(messages)
        #expect(after < raw * 2)
        #expect(after >= raw / 2)
        // Bytes/3 overestimates typical English (~4 bytes per token) before calibration.
        #expect(TokenBudget.rawEstimate(messages) > 1500 / 4)
    }
}

@Suite struct CacheSimulationTests {
    @Test func twoHundredTurnsWithFiveSpeakersReuseMostOfThePrefix() {
        // Long messages so the 61k-token window overflows and trimming must happen.
        let result = CacheSimulation.run(turns: 200, speakers: 5, messageBytes: 900)
        #expect(result.trims >= 1)
        #expect(result.reusedShare >= 0.8, "reused share \(result.reusedShare)")
    }
}

@Suite struct SceneCacheShareTests {
    /// The cache share the README reports for both group prompt modes (printed; `pb-bench core` prints it too).
    @Test func joinKeepsThePrefixAcrossSpeakerChangesAndSwapDoesNot() {
        let swap = SceneCacheSimulation.run(mode: .swap)
        let join = SceneCacheSimulation.run(mode: .join)
        print(String(format: "scene cache share over %d requests, speaker changing every request: swap %.1f%%, join %.1f%%",
                     swap.requests, swap.reusedShare * 100, join.reusedShare * 100))
        #expect(join.reusedShare >= 0.8, "join reused share \(join.reusedShare)")
        #expect(swap.reusedShare < 0.2, "swap reused share \(swap.reusedShare)")
    }
}

@Suite struct CoreBenchmarksSmokeTests {
    // Figures are printed by `persona-bridge bench`; here only that the measurement works (no timing asserted).
    @Test func benchmarksProduceSamples() async {
        #expect(CoreBenchmarks.contextAssembly(storedMessages: 2_000, iterations: 3).samples == 3)
        let latency = await CoreBenchmarks.editLatency(streams: 4, tokens: 10, pace: .milliseconds(1))
        #expect(latency.samples >= 4)
        #expect(latency.p50 <= latency.p99)
    }
}

@Suite struct SafeTextTests {
    @Test func theASCIIPathMatchesTheUnicodeOneOnEveryByte() {
        // Every ASCII byte, alone and between words, plus random mixes heavy in whitespace and controls.
        var cases = (0..<128).flatMap { byte -> [String] in
            let c = String(UnicodeScalar(UInt8(byte)))
            return [c, "a\(c)b", "\(c)\(c)x\(c)", "x\r\n\(c)y"]
        }
        var random = SystemRandomNumberGenerator()
        let alphabet = Array(0..<128).map { UInt8($0) } + Array(repeating: UInt8(ascii: " "), count: 20) + [10, 13, 9]
        for _ in 0..<5_000 {
            let bytes = (0..<Int.random(in: 0..<40, using: &random)).map { _ in alphabet.randomElement(using: &random)! }
            cases.append(String(decoding: bytes, as: UTF8.self))
        }
        for text in cases {
            #expect(ContextAssembler.asciiSafeText(text) == ContextAssembler.unicodeSafeText(text), "\(Array(text.utf8))")
        }
    }

    @Test func nonASCIITextTakesTheUnicodePath() {
        #expect(ContextAssembler.asciiSafeText("café") == nil)
        #expect(ContextAssembler.safeText("  héllo\u{2028}wörld\u{200B}!  ") == "héllo wörld !")
        #expect(ContextAssembler.safeText("\u{85}a\u{A0}b") == "a b")
    }
}

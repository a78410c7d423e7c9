import BridgeConfig
import Foundation
import Testing

/// One activation rule: a book and a few chat steps, timers carried between steps.
struct ActivationCase: Sendable, CustomTestStringConvertible {
    struct Step: Sendable {
        var chat: [String]
        var count: Int?
        /// Fired entries by uid, in insertion order (or `uid|position|depth|role|content` when `detailed`).
        var expect: [String]
    }

    var name: String
    var book: Lorebook
    var steps: [Step]
    var detailed = false
    var seed: UInt64 = 1

    var testDescription: String { name }

    init(_ name: String, _ book: Lorebook, detailed: Bool = false, seed: UInt64 = 1, _ steps: [Step]) {
        self.name = name
        self.book = book
        self.steps = steps
        self.detailed = detailed
        self.seed = seed
    }
}

private func entry(
    _ id: String, keys: [String], content: String? = nil, configure: (inout LorebookEntry) -> Void = { _ in }
) -> LorebookEntry {
    var made = LorebookEntry(id: .string(id), keys: keys, content: content ?? "lore \(id)")
    configure(&made)
    return made
}

private func step(_ chat: [String], count: Int? = nil, _ expect: [String]) -> ActivationCase.Step {
    ActivationCase.Step(chat: chat, count: count, expect: expect)
}

private func selectiveBook(_ logic: LorebookSelectiveLogic, a: [String], b: [String]) -> Lorebook {
    Lorebook(entries: [
        entry("a", keys: ["dragon"]) { $0.selective = true; $0.selectiveLogic = logic; $0.secondaryKeys = a },
        entry("b", keys: ["dragon"]) { $0.selective = true; $0.selectiveLogic = logic; $0.secondaryKeys = b },
    ])
}

private func chain(_ length: Int, recursive: Bool) -> Lorebook {
    Lorebook(recursiveScanning: recursive, entries: (0..<length).map { index in
        entry("e\(index)", keys: [index == 0 ? "start" : "link\(index)"], content: "then link\(index + 1)")
    })
}

private let activationCases: [ActivationCase] = [
    ActivationCase("a key in the scanned messages fires", Lorebook(entries: [entry("harbour", keys: ["harbour"])]),
                   [step(["hello", "we reach the harbour"], ["harbour"]), step(["hello", "nothing here"], [])]),
    ActivationCase("only the last scan_depth messages are scanned; an entry's scan_depth overrides the book's",
                   Lorebook(scanDepth: 2, entries: [
                       entry("book", keys: ["harbour"]),
                       entry("deep", keys: ["harbour"]) { $0.scanDepth = 3 },
                   ]),
                   [step(["the harbour", "one", "two"], ["deep"]), step(["one", "the harbour", "two"], ["book", "deep"])]),
    ActivationCase("selectiveLogic 0 AND ANY: one secondary key is enough",
                   selectiveBook(.andAny, a: ["fire", "ice"], b: ["ice", "snow"]), [step(["a dragon breathes fire"], ["a"])]),
    ActivationCase("selectiveLogic 1 NOT ALL: fires unless every secondary key is there",
                   selectiveBook(.notAll, a: ["fire", "smoke"], b: ["fire", "ice"]),
                   [step(["a dragon, fire and smoke"], ["b"])]),
    ActivationCase("selectiveLogic 2 NOT ANY: fires only when no secondary key is there",
                   selectiveBook(.notAny, a: ["fire", "ice"], b: ["ice", "snow"]), [step(["a dragon breathes fire"], ["b"])]),
    ActivationCase("selectiveLogic 3 AND ALL: every secondary key is needed",
                   selectiveBook(.andAll, a: ["fire", "smoke"], b: ["fire", "ice"]),
                   [step(["a dragon, fire and smoke"], ["a"])]),
    ActivationCase("constant entries fire without keys", Lorebook(entries: [
        entry("world", keys: []) { $0.constant = true }, entry("keyed", keys: ["harbour"]),
    ]), [step(["small talk"], ["world"])]),
    ActivationCase("disabled entries never fire, not even constant", Lorebook(entries: [
        entry("off", keys: ["harbour"]) { $0.enabled = false },
        entry("offconst", keys: []) { $0.enabled = false; $0.constant = true },
        entry("on", keys: ["harbour"]),
    ]), [step(["the harbour"], ["on"])]),
    ActivationCase("whole words by default; match_whole_words false matches inside words; phrases match as text",
                   Lorebook(entries: [
                       entry("word", keys: ["cat"]),
                       entry("part", keys: ["cat"]) { $0.matchWholeWords = false },
                       entry("phrase", keys: ["old cat"]),
                   ]),
                   [step(["concatenate"], ["part"]), step(["the cat, sat"], ["word", "part"]),
                    step(["an old cat"], ["word", "part", "phrase"])]),
    ActivationCase("keys ignore case unless case_sensitive", Lorebook(entries: [
        entry("loose", keys: ["Rhea"]), entry("strict", keys: ["Rhea"]) { $0.caseSensitive = true },
    ]), [step(["captain rhea waves"], ["loose"]), step(["Captain Rhea waves"], ["loose", "strict"])]),
    ActivationCase("/regex/flags keys match as regexes; an invalid regex matches nothing", Lorebook(entries: [
        entry("regex", keys: ["/drag(on|ons)\\b/i"]),
        entry("cased", keys: ["/Dragons/"]),
        entry("broken", keys: ["/[unclosed/"]),
        entry("literal", keys: ["[unclosed"]) { $0.matchWholeWords = false },
    ]), [step(["DRAGONS everywhere [unclosed"], ["regex", "literal"]), step(["Dragons"], ["regex", "cased"])]),
    ActivationCase("over token_budget constant entries stay first, then higher priority, then higher order",
                   Lorebook(tokenBudget: 10, entries: [
                       entry("low", keys: ["harbour"], content: String(repeating: "x", count: 12)) { $0.priority = 1 },
                       entry("const", keys: [], content: String(repeating: "c", count: 12)) {
                           $0.constant = true; $0.priority = 0; $0.insertionOrder = 300
                       },
                       entry("high", keys: ["harbour"], content: String(repeating: "y", count: 12)) { $0.priority = 9 },
                       entry("mid", keys: ["harbour"], content: String(repeating: "z", count: 12)) {
                           $0.priority = 1; $0.insertionOrder = 200
                       },
                   ]),
                   [step(["the harbour"], ["high", "const"])]),
    ActivationCase("recursion off: fired content does not activate other entries", chain(3, recursive: false),
                   [step(["start"], ["e0"])]),
    ActivationCase("recursion on: fired content activates further entries, bounded to depth 3", chain(6, recursive: true),
                   [step(["start"], ["e0", "e1", "e2", "e3"])]),
    ActivationCase("exclude_recursion entries fire only from chat; prevent_recursion content activates nothing",
                   Lorebook(recursiveScanning: true, entries: [
                       entry("a", keys: ["harbour"], content: "the lighthouse and the market"),
                       entry("excluded", keys: ["lighthouse"]) { $0.excludeRecursion = true },
                       entry("b", keys: ["market"], content: "a fishmonger") { $0.preventRecursion = true },
                       entry("c", keys: ["fishmonger"]),
                   ]),
                   [step(["the harbour"], ["a", "b"]), step(["the lighthouse"], ["excluded"])]),
    ActivationCase("probability 0 never fires, 100 always, others follow the seeded generator", Lorebook(entries: [
        entry("never", keys: ["harbour"]) { $0.probability = 0 },
        entry("always", keys: ["harbour"]) { $0.probability = 100 },
        entry("ignored", keys: ["harbour"]) { $0.probability = 0; $0.useProbability = false },
        entry("half", keys: ["harbour"]) { $0.probability = 50 },
    ]), seed: 42, [step(["the harbour"], ["always", "ignored"] + (seededRollHits(seed: 42, probability: 50) ? ["half"] : []))]),
    ActivationCase("sticky keeps an entry active for N messages after it fired", Lorebook(entries: [
        entry("sticky", keys: ["storm"]) { $0.sticky = 2 },
    ]), [step(["a storm"], count: 5, ["sticky"]), step(["calm"], count: 6, ["sticky"]), step(["calm"], count: 7, [])]),
    ActivationCase("cooldown blocks an entry for N messages after it fired (after its sticky span if any)",
                   Lorebook(entries: [
                       entry("cool", keys: ["storm"]) { $0.cooldown = 2 },
                       entry("both", keys: ["storm"]) { $0.sticky = 2; $0.cooldown = 1 },
                   ]),
                   [step(["storm"], count: 5, ["cool", "both"]), step(["calm"], count: 6, ["both"]),
                    step(["storm"], count: 7, ["cool"]), step(["storm"], count: 8, ["both"])]),
    ActivationCase("delay holds an entry until the chat has N messages", Lorebook(entries: [
        entry("late", keys: ["storm"]) { $0.delay = 3 },
    ]), [step(["storm", "storm"], [])
         , step(["storm", "storm", "storm"], ["late"])]),
    ActivationCase("@@ decorators set depth, role, position, keys and activation, and are stripped",
                   Lorebook(entries: [
                       entry("deco", keys: ["harbour"], content: "@@depth 2\n@@role assistant\n@@exclude_keys storm\nThe harbour is calm.") {
                           $0.position = .atDepth
                       },
                       entry("forced", keys: [], content: "@@activate\n@@position after_desc\nAlways here."),
                       entry("muted", keys: ["harbour"], content: "@@dont_activate\nNever."),
                       entry("extra", keys: ["nothing"], content: "@@additional_keys quay, pier\n@@scan_depth 1\nPiers."),
                   ]), detailed: true,
                   [step(["the harbour", "at the pier"], [
                       "deco|atDepth|2|assistant|The harbour is calm.", "forced|afterChar|4|system|Always here.",
                       "extra|beforeChar|4|system|Piers.",
                   ]), step(["the harbour", "a storm"], ["forced|afterChar|4|system|Always here."])]),
    ActivationCase("positions before_char, after_char and at-depth carry depth and role; order sorts within",
                   Lorebook(entries: [
                       entry("after", keys: ["x"]) { $0.position = .afterChar; $0.insertionOrder = 1 },
                       entry("depth", keys: ["x"]) { $0.position = .atDepth; $0.depth = 6; $0.role = .user },
                       entry("before", keys: ["x"]) { $0.insertionOrder = 50 },
                   ]), detailed: true,
                   [step(["x"], ["after|afterChar|4|system|lore after", "before|beforeChar|4|system|lore before",
                                 "depth|atDepth|6|user|lore depth"])]),
]

/// What the activator's first roll for a probability entry gives with this seed (the same draw it makes).
private func seededRollHits(seed: UInt64, probability: Int) -> Bool {
    var generator = SeededGenerator(seed: seed)
    return Int.random(in: 1...100, using: &generator) <= probability
}

@Suite("Lorebook activation")
struct LorebookActivatorTests {
    @Test("one rule per case", arguments: activationCases)
    func rule(_ testCase: ActivationCase) {
        let activator = LorebookActivator(book: testCase.book)
        var state = LorebookTimedState()
        var generator = SeededGenerator(seed: testCase.seed)
        for (number, step) in testCase.steps.enumerated() {
            let result = activator.activate(chat: step.chat, messageCount: step.count, state: state, using: &generator)
            state = result.state
            let got = result.fired.map { fired in
                testCase.detailed ? "\(fired.uid)|\(fired.position)|\(fired.depth)|\(fired.role)|\(fired.content)" : fired.uid
            }
            #expect(got == step.expect, "step \(number + 1) of \(testCase.name)")
        }
    }

    @Test("probability rolls follow the seed: same seed same result, and the rate is near the setting")
    func probabilityRate() {
        let book = Lorebook(entries: [entry("p", keys: ["harbour"]) { $0.probability = 30 }])
        let activator = LorebookActivator(book: book)
        var hits = 0
        for seed in UInt64(0)..<600 {
            var first = SeededGenerator(seed: seed), second = SeededGenerator(seed: seed)
            let one = activator.activate(chat: ["harbour"], using: &first).fired.count
            let two = activator.activate(chat: ["harbour"], using: &second).fired.count
            #expect(one == two)
            hits += one
        }
        #expect((120...240).contains(hits), "30 % of 600 is 180; got \(hits)")
    }

    @Test("budget overflow is reported; skipped entries name the reason")
    func skippedReasons() {
        let book = Lorebook(tokenBudget: 4, entries: [
            entry("big", keys: ["harbour"], content: String(repeating: "x", count: 30)),
            entry("cool", keys: ["harbour"]) { $0.cooldown = 3 },
        ])
        let activator = LorebookActivator(book: book)
        var generator = SeededGenerator(seed: 1)
        var state = LorebookTimedState()
        state.cooldownUntil["cool"] = 10
        let result = activator.activate(chat: ["harbour"], messageCount: 4, state: state, using: &generator)
        #expect(result.fired.isEmpty)
        #expect(Set(result.skipped.map { "\($0.uid):\($0.reason)" }) == ["big:budget", "cool:cooldown"])
        #expect(result.state.cooldownUntil["cool"] == 10)
    }

    @Test("problems name the entry and the key: invalid regex, empty key, an entry that can never fire")
    func problems() {
        let book = Lorebook(entries: [
            entry("ok", keys: ["harbour", "/pier(s)?/i"]),
            entry("bad", keys: ["/[unclosed/", " "]) { $0.comment = "Broken" },
            entry("keyless", keys: []),
        ])
        let problems = LorebookActivator(book: book).problems().map(\.description)
        #expect(problems == [
            "entry 1 \"Broken\": key \"/[unclosed/\": invalid regular expression /[unclosed/",
            "entry 1 \"Broken\": key \" \": the key is empty",
            "entry 2 \"keyless\": the entry has no keys and is not constant, so it never fires",
        ])
    }
}

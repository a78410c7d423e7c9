import BridgeConfig
import Foundation
import Testing

@Suite("Card macros")
struct CardMacrosTests {
    // 2026-12-04 20:05:00 UTC.
    let context = CardMacroContext(char: "Rhea", user: "Sam", chatID: "discord:42", now: Date(timeIntervalSince1970: 1_796_414_700))

    func expand(_ text: String, seed: UInt64 = 1, context: CardMacroContext? = nil) -> String {
        var generator = SeededGenerator(seed: seed)
        return CardMacros.expand(text, context: context ?? self.context, using: &generator)
    }

    @Test("names, comments, time and date, unknown macros kept", arguments: [
        ("{{char}} greets {{USER}}.", "Rhea greets Sam."),
        ("Hi{{// a note for card writers}} there", "Hi there"),
        ("{{time}} on {{date}}", "8:05 PM on December 4, 2026"),
        ("{{unknown}} and {{ char }}", "{{unknown}} and Rhea"),
        ("unclosed {{char", "unclosed {{char"),
        ("{{random::}}{{roll:d0}}", "{{roll:d0}}"),
    ])
    func fixed(input: String, expected: String) {
        #expect(expand(input) == expected)
    }

    @Test("random picks an option from the seeded generator; the old comma form works")
    func random() {
        let options: Set = ["red", "green", "blue"]
        var seen: Set<String> = []
        for seed in UInt64(0)..<60 {
            let value = expand("{{random::red::green::blue}}", seed: seed)
            #expect(options.contains(value))
            #expect(value == expand("{{random::red::green::blue}}", seed: seed))
            seen.insert(value)
        }
        #expect(seen == options)
        #expect(options.contains(expand("{{random:red, green, blue}}")))
    }

    @Test("pick is stable for a chat whatever the generator, and differs between chats somewhere")
    func pick() {
        let text = "{{pick::a::b::c::d::e::f}}"
        let first = expand(text, seed: 1)
        for seed in UInt64(2)..<20 { #expect(expand(text, seed: seed) == first) }
        var values: Set<String> = []
        for chat in 0..<40 {
            var other = context
            other.chatID = "chat-\(chat)"
            values.insert(expand(text, context: other))
        }
        #expect(values.count > 1)
    }

    @Test("roll: dM, NdM±K, plain M; results in range")
    func roll() {
        for seed in UInt64(0)..<100 {
            #expect((1...20).contains(Int(expand("{{roll:d20}}", seed: seed)) ?? 0))
            #expect((3...13).contains(Int(expand("{{roll:2d6+1}}", seed: seed)) ?? 0))
            #expect((1...6).contains(Int(expand("{{roll 6}}", seed: seed)) ?? 0))
            #expect((-1...2).contains(Int(expand("{{roll:1d4-2}}", seed: seed)) ?? -9))
        }
    }
}

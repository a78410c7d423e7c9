import BridgeConfig
import Foundation
import Testing

@Suite("Lorebook decoding")
struct LorebookTests {
    @Test("lorebook_v3 with SillyTavern extensions decodes; unknown fields and extensions are kept and round-trip")
    func lorebookV3() throws {
        let json = #"""
        {"spec": "lorebook_v3", "data": {
          "name": "Harbour Town", "scan_depth": 3, "token_budget": 500, "recursive_scanning": true,
          "extensions": {"tool": {"v": 1}}, "future_field": [1, 2],
          "entries": [
            {"id": 7, "keys": ["harbour", "/pier(s)?/i"], "secondary_keys": ["night"], "content": "The harbour.",
             "enabled": true, "insertion_order": 10, "priority": 5, "selective": true, "constant": false,
             "position": "after_char", "case_sensitive": false, "use_regex": true, "comment": "Harbour", "mystery": "kept",
             "extensions": {"selectiveLogic": 3, "position": 4, "depth": 2, "role": 1, "probability": 40,
                            "useProbability": true, "sticky": 2, "cooldown": 3, "delay": 1, "exclude_recursion": true,
                            "prevent_recursion": false, "match_whole_words": false, "scan_depth": 5, "group": "places"}}
          ]}}
        """#
        let (book, format) = try Lorebook.decode(json: Data(json.utf8))
        #expect(format == .lorebookV3)
        #expect(book.name == "Harbour Town" && book.scanDepth == 3 && book.tokenBudget == 500 && book.recursiveScanning)
        #expect(book.extra == ["future_field": .array([.int(1), .int(2)])])
        #expect(book.extensions == ["tool": .object(["v": .int(1)])])
        let entry = try #require(book.entries.first)
        #expect(entry.id == .int(7) && entry.keys == ["harbour", "/pier(s)?/i"] && entry.secondaryKeys == ["night"])
        #expect(entry.selectiveLogic == .andAll && entry.position == .atDepth && entry.depth == 2 && entry.role == .user)
        #expect(entry.effectiveProbability == 40 && entry.sticky == 2 && entry.cooldown == 3 && entry.delay == 1)
        #expect(entry.excludeRecursion && !entry.preventRecursion && entry.matchWholeWords == false && entry.scanDepth == 5)
        #expect(entry.priority == 5 && entry.insertionOrder == 10 && entry.caseSensitive == false && entry.useRegex == true)
        #expect(entry.extra == ["mystery": .string("kept")])
        #expect(entry.extensions == ["group": .string("places")])
        let again = try Lorebook.decode(json: book.lorebookV3JSON().jsonData())
        #expect(again.book == book)
        #expect(again.format == .lorebookV3)
    }

    @Test("SillyTavern world info: entries keyed by uid, camelCase fields, disable, order, position 4 with depth and role")
    func sillyTavern() throws {
        let json = #"""
        {"name": "Coast", "entries": {
          "1": {"uid": 1, "key": ["lighthouse"], "keysecondary": [], "comment": "Lighthouse", "content": "A tall light.",
                "constant": false, "selective": true, "selectiveLogic": 2, "order": 90, "position": 4, "disable": true,
                "excludeRecursion": false, "preventRecursion": true, "probability": 100, "useProbability": false,
                "depth": 6, "role": 2, "scanDepth": null, "caseSensitive": null, "matchWholeWords": null,
                "sticky": 0, "cooldown": 0, "delay": 0, "displayIndex": 1, "vectorized": false},
          "0": {"uid": 0, "key": ["harbour"], "content": "Boats.", "position": 1, "order": 100}
        }}
        """#
        let (book, format) = try Lorebook.decode(json: Data(json.utf8))
        #expect(format == .sillyTavern)
        #expect(book.name == "Coast")
        #expect(book.entries.map(\.label) == ["harbour", "Lighthouse"])
        let light = book.entries[1]
        #expect(!light.enabled && light.selective && light.selectiveLogic == .notAny && light.insertionOrder == 90)
        #expect(light.position == .atDepth && light.depth == 6 && light.role == .assistant && light.preventRecursion)
        #expect(light.caseSensitive == nil && light.matchWholeWords == nil && light.scanDepth == nil)
        #expect(light.extensions == ["displayIndex": .int(1), "vectorized": .bool(false)])
        #expect(book.entries[0].position == .afterChar)
        let again = try Lorebook.decode(json: book.lorebookV3JSON().jsonData())
        #expect(again.book == book)
    }

    @Test("a card's embedded character_book decodes, and SillyTavern positions 2,3,5,6,7 are kept as written")
    func embedded() throws {
        let json = #"""
        {"spec": "chara_card_v2", "spec_version": "2.0", "data": {"name": "Rhea", "description": "d",
          "character_book": {"entries": [
            {"keys": ["kestrel"], "content": "The airship.", "extensions": {"position": 5}},
            {"keys": ["storm"], "content": "Storm wall.", "position": "somewhere_new"}
          ]}}}
        """#
        let (book, format) = try Lorebook.decode(json: Data(json.utf8))
        #expect(format == .embedded)
        #expect(book.entries.map(\.position) == [.unknown("5"), .unknown("somewhere_new")])
        #expect(try Lorebook.decode(json: book.lorebookV3JSON().jsonData()).book == book)
    }

    @Test("malformed lorebooks get a clear, typed error")
    func malformed() {
        for (text, expected) in [
            ("{not json", "not valid JSON"), ("[]", "not a JSON object"), (#"{"spec": "lorebook_v3"}"#, "no 'data'"),
            (#"{"entries": [{"keys": ["a"]}]}"#, "entry 0 has no 'content'"), (#"{"name": "x"}"#, "no 'entries'"),
            (#"{"entries": {"3": 5}}"#, "entry 3 is not an object"),
            (#"{"spec": "chara_card_v3", "data": {"name": "x"}}"#, "has no character_book"),
        ] {
            #expect(throws: LorebookError.self) { try Lorebook.decode(json: Data(text.utf8)) }
            do {
                _ = try Lorebook.decode(json: Data(text.utf8))
            } catch {
                #expect(error.message.contains(expected), "\(text): \(error.message)")
            }
        }
    }
}

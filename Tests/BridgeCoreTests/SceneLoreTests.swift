import BridgeConfig
import BridgeCore
import Testing

@Suite struct SceneLoreTests {
    let persona = Lorebook(name: "rhea", entries: [
        LorebookEntry(id: .int(0), comment: "Kestrel", keys: ["kestrel"], content: "The airship.", insertionOrder: 20),
        LorebookEntry(id: .int(1), comment: "Storm", keys: ["storm"], content: "The storm wall.", insertionOrder: 5, sticky: 2),
    ])
    let town = Lorebook(name: "harbour-town", entries: [
        LorebookEntry(id: .int(0), comment: "World", keys: [], content: "A port town.", constant: true, insertionOrder: 10),
        LorebookEntry(id: .int(1), comment: "Harbour", keys: ["harbour", "quay"], content: "Boats.", insertionOrder: 30),
    ])

    func history(_ texts: [String]) -> [HistoryEntry] {
        texts.enumerated().map { HistoryEntry(sequence: Int64($0 + 1), speaker: .human(id: "u", name: "Sam"), text: $1) }
    }

    @Test func booksMergeInInsertionOrderAndWhyNamesTheKeys() {
        var scene = SceneLore(books: [("rhea", persona), ("harbour-town", town)], seed: 1)
        let result = scene.activate(history: history(["the Kestrel docks at the quay", "a storm comes"]))
        let last = scene.last
        #expect(result.fired.map(\.uid) == ["rhea/1", "harbour-town/0", "rhea/0", "harbour-town/1"])
        #expect(last == [
            SceneLore.Why(book: "rhea", entry: "Storm", reason: "keys \"storm\""),
            SceneLore.Why(book: "rhea", entry: "Kestrel", reason: "keys \"kestrel\""),
            SceneLore.Why(book: "harbour-town", entry: "World", reason: "constant"),
            SceneLore.Why(book: "harbour-town", entry: "Harbour", reason: "keys \"quay\""),
        ])
    }

    @Test func offBooksAreNotScannedAndTimersCarryBetweenPrompts() {
        var scene = SceneLore(books: [("rhea", persona), ("harbour-town", town)], seed: 1)
        let found = scene.setEnabled("harbour-town", false)
        let missing = scene.setEnabled("nope", false)
        #expect(found && !missing)
        var chat = ["a storm comes"]
        let first = scene.activate(history: history(chat)).fired.map(\.uid)
        #expect(first == ["rhea/1"])
        chat.append("calm again")
        let second = scene.activate(history: history(chat)).fired.map(\.uid)
        #expect(second == ["rhea/1"])
        #expect(scene.last.map(\.reason) == ["sticky"])
        chat.append("still calm")
        chat.append("very calm")
        let later = scene.activate(history: history(Array(chat.suffix(2))), messageCount: chat.count).fired
        #expect(later.isEmpty)
        scene.setEnabled("harbour-town", true)
        let on = scene.activate(history: history(["x"])).fired.map(\.uid)
        #expect(on == ["harbour-town/0"])
    }
}

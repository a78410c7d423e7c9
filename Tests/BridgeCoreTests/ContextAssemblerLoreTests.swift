import BridgeConfig
import BridgeCore
import Foundation
import ModelClient
import PBTestSupport
import pb_bench
import Testing

@Suite struct ContextAssemblerLoreTests {
    let persona = Persona(name: "aria", displayName: "Aria", character: "You are Aria.",
                          examples: [PersonaExample(user: "Hi", ai: "Hello.")])
    let channel = ChannelRef(platform: "discord", channelID: "42", serverID: "7", channelName: "engine-room", serverName: "Starbase")

    func history(_ texts: [String]) -> [HistoryEntry] {
        texts.enumerated().map { index, text in
            HistoryEntry(sequence: Int64(index + 1), speaker: .human(id: "u\(index % 2)", name: index % 2 == 0 ? "Alice" : "Bob"), text: text)
        }
    }

    func activate(_ book: Lorebook, _ history: [HistoryEntry]) -> LorebookActivation {
        var generator = SeededGenerator(seed: 1)
        return LorebookActivator(book: book).activate(chat: ContextAssembler.loreScanTexts(history), using: &generator)
    }

    @Test func beforeAndAfterLoreWrapTheCharacterAndDepthLoreSitsInTheHistory() {
        let book = Lorebook(entries: [
            LorebookEntry(id: .string("world"), keys: [], content: "The world is a ring.", constant: true, insertionOrder: 5),
            LorebookEntry(id: .string("ship"), keys: ["warp"], content: "The warp core is unstable.", insertionOrder: 1,
                          position: .afterChar),
            LorebookEntry(id: .string("note"), keys: ["warp"], content: "Remember the leak.", position: .atDepth,
                          depth: 1, role: .system),
            LorebookEntry(id: .string("idle"), keys: ["nebula"], content: "Never shown."),
        ])
        let chat = history(["Morning.", "Aria, the warp core hums.", "Thoughts?"])
        var asWritten = ContextAssembler()
        asWritten.keyedLoreNearEnd = false
        let context = asWritten.assemble(persona: persona, channel: channel, history: chat, lore: activate(book, chat))
        #expect(context.messages[0].content == "The world is a ring.\n\nYou are Aria.\n\nThe warp core is unstable.")
        #expect(context.loreUIDs == ["ship", "world", "note"])
        let roles = context.messages.map(\.role.rawValue)
        #expect(roles == ["system", "sample_message_user", "sample_message_ai", "user_system", "group", "user", "user", "system", "user"])
        #expect(context.messages[7].content == "Remember the leak.")
        #expect(!context.messages.contains { $0.content.contains("Never shown.") })
        // By default keyed lore stays out of the prefix: one system message before the newest message.
        let nearEnd = ContextAssembler().assemble(persona: persona, channel: channel, history: chat, lore: activate(book, chat))
        #expect(nearEnd.messages[0].content == "The world is a ring.\n\nYou are Aria.")
        #expect(nearEnd.messages.map(\.role.rawValue)
            == ["system", "sample_message_user", "sample_message_ai", "user_system", "group", "user", "user", "system", "system", "user"])
        #expect(nearEnd.messages[7].content == "The warp core is unstable.")
        #expect(nearEnd.messages[8].content == "Remember the leak.")
        // The loreless prompt is unchanged by the new parameter.
        let plain = ContextAssembler().assemble(persona: persona, channel: channel, history: chat)
        #expect(plain.messages[0].content == "You are Aria.")
        #expect(plain.loreUIDs.isEmpty)
    }

    @Test func loreCountsInTheBudgetAndIsTrimmedBeforeHistory() {
        // A budget of about 400 prompt tokens: the 1,500-byte entry cannot fit beside the newest message.
        let budget = TokenBudget(maxOutputTokens: TokenBudget.contextWindow - 400 - 10, safetyMargin: 10)
        let book = Lorebook(entries: [
            LorebookEntry(id: .string("huge"), keys: ["warp"], content: String(repeating: "lore ", count: 300), position: .atDepth),
            LorebookEntry(id: .string("small"), keys: [], content: "Small world.", constant: true),
        ])
        let chat = history(["Aria, the warp core hums " + String(repeating: "and hums ", count: 20)])
        let context = ContextAssembler(budget: budget).assemble(persona: persona, channel: channel, history: chat,
                                                                lore: activate(book, chat))
        #expect(context.loreUIDs == ["small"])
        #expect(context.historyCount == 1)
        #expect(ContextAssembler(budget: budget).budget.tokens(forRaw: context.rawEstimate) <= budget.promptLimit)
    }

    @Test func cacheReuseWithTheFortyEntryLorebook() throws {
        let url = RepoPaths.root.appendingPathComponent("Tests/Corpus/lorebooks/harbour-town.lorebook.json")
        let data = try #require(FileManager.default.contents(atPath: url.path), "missing \(url.path)")
        let book = try Lorebook.decode(json: data).book
        #expect(book.entries.count == 40)
        let topics = book.entries.compactMap { $0.keys.first }.filter { !$0.hasPrefix("/") }
        let baseline = CacheSimulation.run(turns: 200, speakers: 5, messageBytes: 900)
        let result = CacheSimulation.run(turns: 200, speakers: 5, messageBytes: 900, lorebook: book, topics: topics)
        let asWritten = CacheSimulation.run(turns: 200, speakers: 5, messageBytes: 900, lorebook: book, topics: topics,
                                            keyedLoreNearEnd: false)
        print("cache reuse, 200 turns, 5 speakers: \(baseline.reusedShare) without lore; with the 40-entry lorebook "
            + "\(result.reusedShare) (keyed lore near the end), \(asWritten.reusedShare) (keyed lore in the prefix); \(result.loreEntries) entries placed")
        #expect(result.trims >= 1)
        // Lore really is in the prompts: the constant entry every turn and keyed ones besides.
        #expect(result.loreEntries >= 2 * 200, "lore entries placed: \(result.loreEntries)")
        #expect(result.reusedShare >= 0.8, "reused share \(result.reusedShare)")
    }
}

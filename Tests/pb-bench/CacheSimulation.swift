import BridgeConfig
import BridgeCore
import Foundation
import ModelClient

/// Simulates a long group chat through the `ContextAssembler` and measures how much of each prompt repeats the
/// previous prompt byte for byte (the part a provider's prompt cache can serve at a tenth of the price).
public enum CacheSimulation {
    /// The measured figures.
    public struct Result: Hashable, Sendable {
        /// Requests simulated.
        public var requests: Int
        /// Prompt bytes that repeat the previous request's prefix, over all prompt bytes (from the second request).
        public var reusedShare: Double
        /// Times the history window moved.
        public var trims: Int
        /// Lorebook entries placed, summed over all prompts.
        public var loreEntries = 0
    }

    /// Runs `turns` turns: a message from one of `speakers` people, then the persona's reply; with `lorebook`,
    /// each prompt carries the entries its last 10 messages activate; `topics` are named one per message in turn.
    public static func run(turns: Int = 200, speakers: Int = 5, messageBytes: Int = 600,
                           budget: TokenBudget = TokenBudget(), lorebook: Lorebook? = nil,
                           topics: [String] = [], keyedLoreNearEnd: Bool = true) -> Result {
        let activator = lorebook.map { LorebookActivator(book: $0) }
        var loreState = LorebookTimedState()
        var generator = SeededGenerator(seed: 17)
        let persona = Persona(name: "aria", displayName: "Aria", character: "You are Aria, a wry starship engineer.",
                              examples: [PersonaExample(user: "Can you fix it?", ai: "Give me five minutes.")])
        let channel = ChannelRef(platform: "discord", channelID: "1", serverID: "2", channelName: "bridge", serverName: "Ship")
        var assembler = ContextAssembler(budget: budget)
        assembler.keyedLoreNearEnd = keyedLoreNearEnd
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var history: [HistoryEntry] = []
        var anchor: Int64?
        var previous: [UInt8] = []
        var reused = 0, total = 0, trims = 0, loreEntries = 0, sequence: Int64 = 0
        func filler(_ seed: Int) -> String {
            let words = ["engine", "warp", "coffee", "captain", "nebula", "rattle", "console", "shield", "orbit", "bolt"]
            var text = "", i = seed
            while text.utf8.count < messageBytes {
                text += words[Int(UInt(bitPattern: i) % UInt(words.count))] + " "
                i = i &* 31 &+ 7
            }
            return text
        }
        for turn in 0..<turns {
            sequence += 1
            let who = turn % speakers
            history.append(HistoryEntry(sequence: sequence, speaker: .human(id: "u\(who)", name: "Speaker\(who)"),
                                        text: "Aria, \(topics.isEmpty ? "" : "about the \(topics[turn % topics.count]): ")\(filler(turn))"))
            var lore: LorebookActivation?
            if let activator {
                let scanned = ContextAssembler.loreScanTexts(history.suffix(10))
                let activation = activator.activate(chat: scanned, messageCount: history.count, state: loreState, using: &generator)
                loreState = activation.state
                lore = activation
            }
            let context = assembler.assemble(persona: persona, channel: channel, history: history, anchor: anchor, lore: lore)
            if anchor != nil, context.anchor != anchor { trims += 1 }
            loreEntries += context.loreUIDs.count
            anchor = context.anchor
            let bytes = Array((try? encoder.encode(context.messages)) ?? Data())
            if turn > 0 {
                var common = 0
                while common < previous.count, common < bytes.count, previous[common] == bytes[common] { common += 1 }
                reused += common
                total += bytes.count
            }
            previous = bytes
            sequence += 1
            history.append(HistoryEntry(sequence: sequence, speaker: .persona(name: "aria", displayName: "Aria"),
                                        text: filler(turn + 1000)))
        }
        return Result(requests: turns, reusedShare: total == 0 ? 1 : Double(reused) / Double(total), trims: trims,
                      loreEntries: loreEntries)
    }
}

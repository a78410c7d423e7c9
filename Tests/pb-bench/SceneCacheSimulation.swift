import BridgeConfig
import BridgeCore
import Foundation
import ModelClient

/// Simulates a three-persona scene whose speaker changes every request, through the `ContextAssembler` in a group
/// prompt mode, and measures how much of each prompt repeats the previous prompt byte for byte.
public enum SceneCacheSimulation {
    /// Three members with cards and examples of a realistic size (about 1.5 kB of card each).
    static let members: [Persona] = [
        ("aria", "Aria", "a cheerful bard who turns every event into a song"),
        ("bolt", "Bolt", "a grumpy smith who distrusts magic and loves his anvil"),
        ("cleo", "Cleo", "a sly thief who always knows where the exits are"),
    ].map { name, display, gist in
        let card = (0..<12).map { "\(display) is \(gist); line \($0) of the card says more about \(display)'s past and manner." }
            .joined(separator: " ")
        return Persona(name: name, displayName: display, character: card,
                       examples: [PersonaExample(user: "How are you, \(display)?", ai: "As ever: \(gist).")])
    }

    /// Runs `turns` requests: a person speaks, then the next persona in turn answers (so the speaker always changes).
    public static func run(mode: GroupPromptMode, turns: Int = 120, messageBytes: Int = 400,
                           budget: TokenBudget = TokenBudget()) -> CacheSimulation.Result {
        let channel = ChannelRef(platform: "discord", channelID: "1", serverID: "2", channelName: "tavern", serverName: "Inn")
        let assembler = ContextAssembler(budget: budget)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var history: [HistoryEntry] = []
        var anchor: Int64?
        var previous: [UInt8] = []
        var reused = 0, total = 0, trims = 0, sequence: Int64 = 0
        func filler(_ seed: Int) -> String {
            let words = ["ale", "song", "anvil", "lockpick", "candle", "rumour", "coin", "storm", "map", "door"]
            var text = "", i = seed
            while text.utf8.count < messageBytes {
                text += words[Int(UInt(bitPattern: i) % UInt(words.count))] + " "
                i = i &* 31 &+ 7
            }
            return text
        }
        for turn in 0..<turns {
            sequence += 1
            history.append(HistoryEntry(sequence: sequence, speaker: .human(id: "u\(turn % 2)", name: "Player\(turn % 2)"),
                                        text: filler(turn)))
            let speaker = members[turn % members.count]
            let group = GroupPrompt(mode: mode, members: mode == .join ? members : [],
                                    nudge: ContextAssembler.nudge(SceneSettings.defaultNudge, speaker: speaker))
            let context = assembler.assemble(persona: speaker, channel: channel, history: history, anchor: anchor, group: group)
            if anchor != nil, context.anchor != anchor { trims += 1 }
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
            history.append(HistoryEntry(sequence: sequence, speaker: .persona(name: speaker.name, displayName: speaker.displayName),
                                        text: filler(turn + 1000)))
        }
        return CacheSimulation.Result(requests: turns, reusedShare: total == 0 ? 1 : Double(reused) / Double(total), trims: trims)
    }
}

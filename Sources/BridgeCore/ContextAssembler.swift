import Foundation
import BridgeConfig
import ModelClient

/// One stored channel message as the assembler needs it.
public struct HistoryEntry: Hashable, Sendable {
    /// Who spoke.
    public enum Speaker: Hashable, Sendable {
        /// A person.
        case human(id: String, name: String)
        /// One of this bridge's personas (by persona id and display name).
        case persona(name: String, displayName: String)
        /// Another bot.
        case bot(id: String, name: String)
    }

    /// Monotonic position in the channel (store row order); used as the trim anchor.
    public var sequence: Int64
    /// Speaker.
    public var speaker: Speaker
    /// Text.
    public var text: String

    /// Creates an entry.
    public init(sequence: Int64, speaker: Speaker, text: String) {
        self.sequence = sequence
        self.speaker = speaker
        self.text = text
    }
}

/// A prompt and what it took to build it.
public struct AssembledContext: Hashable, Sendable {
    /// Messages for the model.
    public var messages: [ChatMessage]
    /// Uncalibrated estimate (for `TokenBudget.calibrate`).
    public var rawEstimate: Int
    /// Sequence of the oldest history entry kept; persist per channel and pass back next time.
    public var anchor: Int64?
    /// History entries included.
    public var historyCount: Int
    /// Lorebook entries placed in the prompt (after lore trimming), by uid in insertion order.
    public var loreUIDs: [String] = []
    /// The scene's long-term memory block sent, if any (right after the stable prefix).
    public var memory: String?
}

/// Builds M2-her prompts: system, samples, user_system, group, then named history in time order.
///
/// Trimming is cache-friendly: the oldest history is dropped in blocks of about a quarter of the budget, and
/// the start point (anchor) is kept between turns, so the prompt prefix stays byte-identical for many turns.
public struct ContextAssembler: Sendable {
    /// Budget and estimator.
    public var budget: TokenBudget
    /// Share of the prompt budget dropped at once when history overflows.
    public var trimFraction: Double
    /// Keyed `before_char`/`after_char` lore goes near the end (one system message before the newest message)
    /// instead of into the system prefix, so lore that comes and goes does not break the prompt cache; constant
    /// lore always stays in the prefix. Off places keyed entries as written, around the character.
    public var keyedLoreNearEnd = true

    /// Creates an assembler.
    public init(budget: TokenBudget = TokenBudget(), trimFraction: Double = 0.25) {
        self.budget = budget
        self.trimFraction = trimFraction
    }

    /// The scene name for the `group` role: platform · server · channel.
    public static func groupName(for channel: ChannelRef) -> String {
        var parts = [channel.platform.prefix(1).uppercased() + channel.platform.dropFirst()]
        if let server = channel.serverName ?? channel.serverID, !server.isEmpty { parts.append(server) }
        parts.append(channel.channelName ?? channel.channelID)
        return parts.joined(separator: " · ")
    }

    /// Builds the prompt for `persona` answering in `channel`.
    ///
    /// - Parameters:
    ///   - history: channel history, oldest first (only entries at or after `anchor` are used).
    ///   - userPersonas: per-user persona text by display name; shown in `user_system`.
    ///   - anchor: the channel's previous anchor, or nil.
    ///   - scene: a configured scene name for `group`; default platform · server · channel.
    ///   - maxMessages: when `history` is the newest N stored messages, pass N: the window is then also trimmed
    ///     in blocks by count, so the anchor never falls out of what is loaded (which would slide the prefix).
    ///   - memory: the scene's long-term memory block; it goes right after the stable prefix (system and
    ///     examples), so the cache over that prefix survives a memory update.
    public func assemble(persona: Persona, channel: ChannelRef, history: [HistoryEntry],
                         userPersonas: [String: String] = [:], anchor: Int64? = nil, scene: String? = nil,
                         maxMessages: Int? = nil, lore: LorebookActivation? = nil, memory: String? = nil,
                         group: GroupPrompt? = nil) -> AssembledContext {
        let memoryMessages = memory.map { [ChatMessage(role: .system, content: $0)] } ?? []
        let promptPersona = group?.promptPersona(speaker: persona) ?? persona
        func makeHead(_ lore: [LorebookFiredEntry]) -> [ChatMessage] {
            if let group, group.joins { return Self.joinedHead(group, lore: lore.filter(inPrefix)) + memoryMessages }
            var head = [ChatMessage(role: .system, content: Self.systemText(character: persona.character, lore: lore.filter(inPrefix)),
                                    name: persona.displayName)]
            for example in persona.examples {
                head.append(ChatMessage(role: .sampleMessageUser, content: example.user))
                head.append(ChatMessage(role: .sampleMessageAI, content: example.ai, name: persona.displayName))
            }
            return head + memoryMessages
        }
        var head = makeHead(lore?.fired ?? [])

        let limit = budget.promptLimit
        // Only the window is ever looked at, so a channel with 10,000 stored messages costs what the window costs.
        var start: Int
        if let anchor {
            start = Self.firstIndex(in: history, atOrAfter: anchor)
        } else {
            // First prompt for this channel: start with as much recent history as fits.
            start = history.count
            var raw = 0
            while start > 0 {
                raw += TokenBudget.rawEstimate(Self.message(for: history[start - 1], persona: persona, group: group))
                if budget.tokens(forRaw: raw) > limit { break }
                start -= 1
            }
        }
        let base = start
        let historyMessages = history[base...].map { Self.message(for: $0, persona: persona, group: group) }
        let historyRaw = historyMessages.map(TokenBudget.rawEstimate)
        // Suffix sums (relative to `base`) let each trim step cost O(1).
        var suffix = [Int](repeating: 0, count: historyRaw.count + 1)
        for i in stride(from: historyRaw.count - 1, through: 0, by: -1) { suffix[i] = suffix[i + 1] + historyRaw[i] }

        func sceneMessages(from start: Int) -> [ChatMessage] {
            [ChatMessage(role: .userSystem, content: Self.peopleDescription(Self.people(history[start...], group: group), persona: promptPersona,
                                                                              userPersonas: userPersonas, template: promptPersona.userSystemTemplate)),
             ChatMessage(role: .group, content: scene ?? Self.groupName(for: channel))]
        }
        var keptLore = lore?.fired ?? []
        var scene = sceneMessages(from: start)
        if !keptLore.isEmpty {
            // Lore counts in the budget and gives way first: it must fit beside the newest message.
            let newest = historyRaw.last ?? 0
            let sceneRaw = TokenBudget.rawEstimate(scene)
            keptLore = Self.trimLore(keptLore) { candidate in
                let depthRaw = Self.endLore(candidate.filter { !inPrefix($0) }, persona: persona)
                    .reduce(0) { $0 + TokenBudget.rawEstimate($1.message) }
                return budget.tokens(forRaw: TokenBudget.rawEstimate(makeHead(candidate)) + depthRaw + sceneRaw + newest) <= limit
            }
            head = makeHead(keptLore)
        }
        let endLore = Self.endLore(keptLore.filter { !inPrefix($0) }, persona: persona)
        let depthLoreRaw = endLore.reduce(0) { $0 + TokenBudget.rawEstimate($1.message) }
        // Post-history instructions and the group nudge go last, after the newest message: they change nothing
        // before them in the cache; the nudge is the very last thing the model reads.
        let post = (persona.postHistory.map { [ChatMessage(role: .system, content: $0)] } ?? []) + (group?.nudgeMessage.map { [$0] } ?? [])
        let headRaw = TokenBudget.rawEstimate(head) + depthLoreRaw + TokenBudget.rawEstimate(post)
        let block = max(1, Int(Double(limit) * trimFraction))
        if let maxMessages, maxMessages > 0, history.count - start >= maxMessages {
            start = min(history.count, history.count - maxMessages + max(1, maxMessages / 4))
            scene = sceneMessages(from: start)
        }
        while start < history.count,
              budget.tokens(forRaw: headRaw + TokenBudget.rawEstimate(scene) + suffix[start - base]) > limit {
            // Drop a whole block of the oldest history (at least one message), then re-check.
            var dropped = 0
            while start < history.count - 1, dropped < block {
                dropped += budget.tokens(forRaw: historyRaw[start - base])
                start += 1
            }
            if dropped == 0 { start += 1 }
            scene = sceneMessages(from: start)
        }
        let tail = Self.insertEndLore(endLore, into: Array(historyMessages[(start - base)...]))
        let messages = head + scene + tail + post
        return AssembledContext(messages: messages, rawEstimate: TokenBudget.rawEstimate(messages),
                                anchor: start < history.count ? history[start].sequence : anchor,
                                historyCount: history.count - start, loreUIDs: keptLore.map(\.uid), memory: memory)
    }

    /// Index of the first entry with `sequence >= anchor` (history is in sequence order).
    static func firstIndex(in history: [HistoryEntry], atOrAfter anchor: Int64) -> Int {
        var low = 0, high = history.count
        while low < high {
            let mid = (low + high) / 2
            if history[mid].sequence < anchor { low = mid + 1 } else { high = mid }
        }
        return low
    }

    static func message(for entry: HistoryEntry, persona: Persona) -> ChatMessage {
        switch entry.speaker {
        case .human(_, let name), .bot(_, let name):
            ChatMessage(role: .user, content: entry.text, name: safeName(name))
        case .persona(let name, let displayName):
            name == persona.name
                ? ChatMessage(role: .assistant, content: entry.text, name: persona.displayName)
                : ChatMessage(role: .user, content: entry.text, name: displayName)
        }
    }

    /// Longest display name (in characters) that goes into a prompt.
    static let maximumNameLength = 64

    /// A display name as prompt input: every run of whitespace or control characters becomes one space, so a name
    /// cannot open a new line in the people list (or pose as a role), and it is capped at 64 characters.
    static func safeName(_ name: String) -> String {
        let collapsed = safeText(name)
        guard collapsed.count > maximumNameLength else { return collapsed }
        return String(collapsed.prefix(maximumNameLength - 1)) + "…"
    }

    /// Text on one line: whitespace and control characters collapsed to single spaces, trimmed.
    static func safeText(_ text: String) -> String {
        // Every line of history goes through here, for each prompt and each memory summary: most chat is ASCII, where
        // a byte decides, without the Unicode property look-ups (which took about a fifth of a summary's CPU).
        asciiSafeText(text) ?? unicodeSafeText(text)
    }

    /// `safeText` for any text, by each character's Unicode properties.
    static func unicodeSafeText(_ text: String) -> String {
        var out = ""
        var pendingSpace = false
        for character in text {
            let isBreak = character.isWhitespace || character.unicodeScalars.allSatisfy {
                $0.properties.generalCategory == .control || $0.properties.generalCategory == .format
            }
            if isBreak {
                pendingSpace = !out.isEmpty
                continue
            }
            if pendingSpace { out.append(" ") }
            pendingSpace = false
            out.append(character)
        }
        return out
    }

    /// `safeText` for ASCII text (nil for any other): spaces and the C0 controls, all of ASCII's whitespace and
    /// control characters, break; CR LF is one break either way.
    static func asciiSafeText(_ text: String) -> String? {
        var text = text
        return text.withUTF8 { bytes -> String? in
            var out: [UInt8] = []
            out.reserveCapacity(bytes.count)
            var pendingSpace = false
            for byte in bytes {
                if byte >= 0x80 { return nil }
                if byte <= 0x20 || byte == 0x7F {
                    pendingSpace = !out.isEmpty
                    continue
                }
                if pendingSpace { out.append(0x20) }
                pendingSpace = false
                out.append(byte)
            }
            return String(decoding: out, as: UTF8.self)
        }
    }

    /// `user_system`: the people in the scene in order of first appearance, with their personas where set.
    ///
    /// It depends only on the kept history, not on who speaks now, so it does not break the cached prefix.
    static func peopleDescription(_ history: ArraySlice<HistoryEntry>, persona: Persona, userPersonas: [String: String],
                                  template: String?) -> String {
        var seen = Set<String>()
        var lines: [String] = []
        for entry in history {
            let (name, kind): (String, String)
            switch entry.speaker {
            case .human(_, let n): (name, kind) = (n, "a person in the chat")
            case .bot(_, let n): (name, kind) = (n, "a bot in the chat")
            case .persona(let id, let n):
                if id == persona.name { continue }
                (name, kind) = (n, "another character in the chat")
            }
            guard seen.insert(name).inserted else { continue }
            lines.append("- \(safeName(name)): \(userPersonas[name].map(safeText) ?? kind)")
        }
        let people = lines.isEmpty ? "Nobody has spoken yet." : "People present:\n" + lines.joined(separator: "\n")
        guard let template, !template.isEmpty else { return people }
        return template.replacingOccurrences(of: "{{people}}", with: people)
            .replacingOccurrences(of: "{{char}}", with: persona.displayName)
    }
}

import BridgeConfig
import ModelClient
import Storage

/// The pure parts of long-term memory: the block placed in prompts, when a span of dropped history is due for a
/// summary, what a fold merges, and the texts of summary and fold requests.
enum MemoryBlock {
    /// The heading of the block in the prompt.
    static let heading = "Long-term memory of this scene (what happened before the messages below):"
    /// Longest text of one message in a summary transcript; a longer one is cut (the rest rarely matters).
    static let maximumLineBytes = 8_000

    /// The calibrated token estimate of a block as the prompt message it becomes.
    static func tokens(_ text: String, scale: Double) -> Int {
        Int((Double(TokenBudget.rawEstimate(ChatMessage(role: .system, content: text))) * scale).rounded(.up))
    }

    /// The block for a prompt, within `cap` tokens: every pinned fact, then as many summaries as fit, newest kept
    /// first (older ones are the first to go until a fold makes room); nil for an empty memory.
    static func render(_ memory: SceneMemory, cap: Int, scale: Double) -> String? {
        let pinned = memory.pinned.map(\.text)
        var summaries = memory.summaries.map(\.text)
        guard !pinned.isEmpty || !summaries.isEmpty else { return nil }
        while true {
            let text = compose(pinned: pinned, summaries: summaries)
            if summaries.isEmpty || tokens(text, scale: scale) <= cap { return text }
            summaries.removeFirst()
        }
    }

    static func compose(pinned: [String], summaries: [String]) -> String {
        var parts = [heading]
        if !pinned.isEmpty { parts.append("Facts to keep:\n" + pinned.map { "- " + $0 }.joined(separator: "\n")) }
        if !summaries.isEmpty { parts.append("Earlier events:\n" + summaries.joined(separator: "\n\n")) }
        return parts.joined(separator: "\n\n")
    }

    /// Whether the whole memory is over its cap (so older summaries should be folded together).
    static func needsFold(_ memory: SceneMemory, cap: Int, scale: Double) -> Bool {
        !memory.summaries.isEmpty
            && tokens(compose(pinned: memory.pinned.map(\.text), summaries: memory.summaries.map(\.text)), scale: scale) > cap
    }

    /// The summaries a fold merges: every one but the newest, or the only one when there is just one.
    static func foldSet(_ memory: SceneMemory) -> [MemoryEntry] {
        let summaries = memory.summaries
        return summaries.count >= 2 ? Array(summaries.dropLast()) : summaries
    }

    /// One transcript line.
    static func line(_ message: StoredMessage) -> String {
        var text = ContextAssembler.safeText(message.text)
        if text.utf8.count > maximumLineBytes {
            text = String(decoding: text.utf8.prefix(maximumLineBytes), as: UTF8.self) + "…"
        }
        return "\(ContextAssembler.safeName(message.speakerName)): \(text)"
    }

    /// The calibrated token estimate of one message as a transcript line.
    static func tokens(of message: StoredMessage, scale: Double) -> Int {
        let bytes = line(message).utf8.count + 1
        return Int((Double((bytes + 2) / 3) * scale).rounded(.up))
    }

    /// The oldest messages of `span` that make one summary: once `everyTokens` of dropped history have gathered,
    /// the messages up to and including the one that reached it; nil while the span is smaller (not due yet).
    static func dueChunk(_ span: [StoredMessage], everyTokens: Int, scale: Double) -> [StoredMessage]? {
        var total = 0
        for (index, message) in span.enumerated() {
            total += tokens(of: message, scale: scale)
            if total >= everyTokens { return Array(span[...index]) }
        }
        return nil
    }

    /// The messages of a summary request.
    static func summaryRequest(_ chunk: [StoredMessage], prompt: String, scene: String) -> [ChatMessage] {
        let transcript = chunk.map(line).joined(separator: "\n")
        return [ChatMessage(role: .system, content: prompt),
                ChatMessage(role: .user, content: "Scene: \(scene)\n\nTranscript:\n\(transcript)", name: "Transcript")]
    }

    /// The messages of a fold request; pinned facts are shown so the notes stay consistent with them, but they are
    /// kept apart and never merged.
    static func foldRequest(_ summaries: [MemoryEntry], pinned: [MemoryEntry], prompt: String, scene: String) -> [ChatMessage] {
        var text = "Scene: \(scene)\n\n"
        if !pinned.isEmpty {
            text += "Facts kept separately (do not repeat them):\n" + pinned.map { "- " + $0.text }.joined(separator: "\n") + "\n\n"
        }
        text += "Notes to merge, oldest first:\n\n"
        text += summaries.enumerated().map { "[\($0.offset + 1)]\n\($0.element.text)" }.joined(separator: "\n\n")
        return [ChatMessage(role: .system, content: prompt), ChatMessage(role: .user, content: text, name: "Memory")]
    }
}

/// The `[memory]` section: long-term memory of scenes, summarised from history that fell out of the context window.
public struct MemorySettings: Hashable, Sendable {
    /// Whether scenes keep a memory at all.
    public var enabled: Bool
    /// Dropped history (in estimated tokens) that makes one summary request (`every_tokens`).
    public var everyTokens: Int
    /// Most tokens the memory block may take in a prompt; above it older summaries are folded together (`max_tokens`).
    public var maxTokens: Int
    /// Most tokens one summary (or fold) may be: the request's output limit (`summary_tokens`).
    public var summaryTokens: Int
    /// The instructions of a summary request (`prompt`); personas and channels may set their own (`memory_prompt`).
    public var prompt: String
    /// The instructions of a fold request (`fold_prompt`).
    public var foldPrompt: String

    /// Creates memory settings.
    public init(enabled: Bool = true, everyTokens: Int = 8_000, maxTokens: Int = 2_000, summaryTokens: Int = 512,
                prompt: String = MemorySettings.defaultPrompt, foldPrompt: String = MemorySettings.defaultFoldPrompt) {
        self.enabled = enabled
        self.everyTokens = everyTokens
        self.maxTokens = maxTokens
        self.summaryTokens = summaryTokens
        self.prompt = prompt
        self.foldPrompt = foldPrompt
    }

    /// The built-in summary instructions.
    public static let defaultPrompt = """
        You keep the long-term memory of a roleplay scene. Summarise the transcript below in the past tense, as \
        short factual notes: who is who, names, places, objects, promises, secrets, relationships, decisions and \
        unresolved threads. Keep every concrete fact (names, numbers, where things are). Leave out small talk. \
        Write only the notes, no preamble.
        """

    /// The built-in fold instructions.
    public static let defaultFoldPrompt = """
        You keep the long-term memory of a roleplay scene. Merge the memory notes below, oldest first, into one \
        shorter set of notes. Keep every concrete fact (names, places, objects, promises, secrets, unresolved \
        threads); drop only repetition and detail that no longer matters. Write only the notes, no preamble.
        """
}

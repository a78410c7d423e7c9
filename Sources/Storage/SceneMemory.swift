import Foundation

/// What a stored memory entry is.
///
/// The raw value is what is stored; a value written by a newer version decodes as `.unknown` and is kept.
public enum MemoryEntryKind: Hashable, Sendable, RawRepresentable, CustomStringConvertible {
    /// A model-written summary of history that fell out of the context window.
    case summary
    /// A fact a moderator pinned (`memory add`); never folded or summarised away.
    case pinned
    /// A kind this version does not know; the raw string is kept.
    case unknown(String)

    /// Decodes a stored raw value; never fails.
    public init(rawValue: String) {
        switch rawValue {
        case "summary": self = .summary
        case "pinned": self = .pinned
        default: self = .unknown(rawValue)
        }
    }

    /// The stored spelling.
    public var rawValue: String {
        switch self {
        case .summary: "summary"
        case .pinned: "pinned"
        case .unknown(let value): value
        }
    }

    /// Same as `rawValue`.
    public var description: String { rawValue }
}

/// One entry of a scene's long-term memory.
public struct MemoryEntry: Hashable, Sendable {
    /// The store's id of the entry (increasing in insertion order).
    public var id: Int64
    /// Summary or pinned fact.
    public var kind: MemoryEntryKind
    /// The text placed in the prompt.
    public var text: String
    /// For summaries: the history row ids covered, first and last.
    public var firstMessageRowID: Int64?
    /// For summaries: the last history row id covered.
    public var lastMessageRowID: Int64?
    /// Who added a pinned fact (platform user id).
    public var createdBy: String?
    /// When the entry was written.
    public var createdAt: Date

    /// Creates an entry.
    public init(id: Int64, kind: MemoryEntryKind, text: String, firstMessageRowID: Int64? = nil, lastMessageRowID: Int64? = nil,
                createdBy: String? = nil, createdAt: Date) {
        self.id = id
        self.kind = kind
        self.text = text
        self.firstMessageRowID = firstMessageRowID
        self.lastMessageRowID = lastMessageRowID
        self.createdBy = createdBy
        self.createdAt = createdAt
    }
}

/// A scene's long-term memory: pinned facts and summaries in insertion order, and how far its history is summarised.
public struct SceneMemory: Hashable, Sendable {
    /// Every entry, oldest first.
    public var entries: [MemoryEntry]
    /// The history row id of the last message summarised (0: none yet); only later messages are still to do.
    public var summarizedThrough: Int64

    /// Creates a memory.
    public init(entries: [MemoryEntry] = [], summarizedThrough: Int64 = 0) {
        self.entries = entries
        self.summarizedThrough = summarizedThrough
    }

    /// Pinned facts, oldest first.
    public var pinned: [MemoryEntry] { entries.filter { $0.kind == .pinned } }
    /// Summaries, oldest first.
    public var summaries: [MemoryEntry] { entries.filter { $0.kind == .summary } }
}

/// A summary to store, covering a span of history.
public struct MemorySummaryDraft: Hashable, Sendable {
    /// The summary text.
    public var text: String
    /// First history row id covered.
    public var firstMessageRowID: Int64
    /// Last history row id covered (the cursor moves here).
    public var lastMessageRowID: Int64

    /// Creates a draft.
    public init(text: String, firstMessageRowID: Int64, lastMessageRowID: Int64) {
        self.text = text
        self.firstMessageRowID = firstMessageRowID
        self.lastMessageRowID = lastMessageRowID
    }
}

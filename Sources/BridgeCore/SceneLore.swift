import BridgeConfig

/// The lorebooks attached to one scene (the persona's own and the channel's), with their timers, on/off switches
/// and the last activation for `lore why`: what a router keeps per scene. Pure; no I/O.
public struct SceneLore: Sendable {
    /// One attached book.
    public struct Book: Sendable {
        /// Name (`harbour-town`, or the persona's name for a card's book).
        public var name: String
        /// The compiled book.
        public var activator: LorebookActivator
        /// Off books are not scanned (`lore off NAME`).
        public var enabled: Bool
        /// Sticky and cooldown timers.
        public var state: LorebookTimedState
    }

    /// One fired entry, for `lore why`.
    public struct Why: Hashable, Sendable {
        /// Book name.
        public var book: String
        /// Entry label.
        public var entry: String
        /// Why it fired: `constant`, `sticky`, `@@activate`, or the keys found (and the recursion depth).
        public var reason: String

        /// Creates a line.
        public init(book: String, entry: String, reason: String) {
            self.book = book
            self.entry = entry
            self.reason = reason
        }
    }

    /// Attached books in attachment order.
    public private(set) var books: [Book]
    /// What fired for the last prompt, by book.
    public private(set) var last: [Why] = []
    private var generator: SeededGenerator

    /// Attaches `books`; `seed` makes probability rolls reproducible for the scene.
    public init(books: [(name: String, book: Lorebook)], seed: UInt64) {
        self.books = books.map { Book(name: $0.name, activator: LorebookActivator(book: $0.book), enabled: true, state: .init()) }
        generator = SeededGenerator(seed: seed)
    }

    /// Turns a book on or off; false when no book has that name.
    @discardableResult
    public mutating func setEnabled(_ name: String, _ enabled: Bool) -> Bool {
        guard let index = books.firstIndex(where: { $0.name == name }) else { return false }
        books[index].enabled = enabled
        return true
    }

    /// Activates every enabled book over `history` (oldest first) and returns the fired entries of all books in
    /// insertion order (book order breaking ties), uids prefixed `book/`. `messageCount` is the whole chat's length
    /// when `history` is only its newest part.
    public mutating func activate(history: [HistoryEntry], messageCount: Int? = nil) -> LorebookActivation {
        let texts = ContextAssembler.loreScanTexts(history)
        var fired: [(book: Int, entry: LorebookFiredEntry)] = []
        var skipped: [LorebookSkippedEntry] = []
        var why: [Why] = []
        var passes = 0
        for index in books.indices where books[index].enabled {
            let result = books[index].activator.activate(chat: texts, messageCount: messageCount ?? history.count,
                                                         state: books[index].state, using: &generator)
            books[index].state = result.state
            passes = max(passes, result.recursionPasses)
            let name = books[index].name
            for var entry in result.fired {
                why.append(Why(book: name, entry: entry.label, reason: Self.reason(entry.cause)))
                entry.uid = "\(name)/\(entry.uid)"
                fired.append((index, entry))
            }
            skipped += result.skipped.map { var skip = $0; skip.uid = "\(name)/\(skip.uid)"; return skip }
        }
        fired.sort { ($0.entry.insertionOrder, $0.book, $0.entry.index) < ($1.entry.insertionOrder, $1.book, $1.entry.index) }
        last = why
        // Timers stay per book (in `books`); the merged result carries none.
        return LorebookActivation(fired: fired.map(\.entry), skipped: skipped, state: .init(), recursionPasses: passes)
    }

    private static func reason(_ cause: LorebookFiredEntry.Cause) -> String {
        switch cause {
        case .constant: "constant"
        case .sticky: "sticky"
        case .decorator: "@@activate"
        case .keys(let keys, let depth):
            "keys " + keys.map { "\"\($0)\"" }.joined(separator: ", ") + (depth > 0 ? " (recursion \(depth))" : "")
        }
    }
}

import Foundation

/// Sticky and cooldown timers, counted in chat messages; the caller keeps it per scene and passes it back.
public struct LorebookTimedState: Hashable, Sendable, Codable {
    /// Entry uid → message count at which its sticky span ends.
    public var stickyUntil: [String: Int] = [:]
    /// Entry uid → message count at which its cooldown ends.
    public var cooldownUntil: [String: Int] = [:]

    /// An empty state (no timers running).
    public init() {}
}

/// One entry that fired, with what it inserts and why.
public struct LorebookFiredEntry: Hashable, Sendable {
    /// Why the entry fired.
    public enum Cause: Hashable, Sendable {
        /// `constant`.
        case constant
        /// `@@activate`.
        case decorator
        /// Its sticky span is still running.
        case sticky
        /// Keys found (primary keys listed; recursion depth 0 is the chat itself).
        case keys([String], recursionDepth: Int)
    }

    /// Index in the book's `entries`.
    public var index: Int
    /// Stable id (the entry's `id`, else `#index`).
    public var uid: String
    /// Label for reports.
    public var label: String
    /// Content with decorator lines stripped.
    public var content: String
    /// Where it goes (decorators applied).
    public var position: LorebookPosition
    /// Chat depth for `.atDepth`.
    public var depth: Int
    /// Role for `.atDepth`.
    public var role: LorebookRole
    /// Lower first within a position.
    public var insertionOrder: Int
    /// Estimated tokens.
    public var tokens: Int
    /// Why.
    public var cause: Cause
}

/// An entry that would have fired but did not, and why.
public struct LorebookSkippedEntry: Hashable, Sendable {
    /// Why it was held back.
    public enum Reason: Hashable, Sendable {
        /// Over `token_budget`.
        case budget
        /// Lost its probability roll.
        case probability
        /// Keys found, but its cooldown is running.
        case cooldown
        /// Keys found, but the chat is shorter than its `delay` (or `@@activate_only_after`/`_every`).
        case delay
    }

    /// Index in the book's `entries`.
    public var index: Int
    /// Stable id.
    public var uid: String
    /// Why.
    public var reason: Reason
}

/// The result of one activation: the fired entries in insertion order, what was held back, and the new timers.
public struct LorebookActivation: Hashable, Sendable {
    /// Fired entries, by insertion order then file order.
    public var fired: [LorebookFiredEntry]
    /// Entries held back.
    public var skipped: [LorebookSkippedEntry]
    /// Timers to keep for the next activation.
    public var state: LorebookTimedState
    /// Recursion passes run after the chat scan.
    public var recursionPasses: Int

    /// Creates a result (the activator makes these; a scene merging several books too).
    public init(fired: [LorebookFiredEntry], skipped: [LorebookSkippedEntry], state: LorebookTimedState, recursionPasses: Int) {
        self.fired = fired
        self.skipped = skipped
        self.state = state
        self.recursionPasses = recursionPasses
    }

    /// Fired entries at one position, in insertion order.
    public func entries(at position: LorebookPosition) -> [LorebookFiredEntry] {
        fired.filter { $0.position == position }
    }

    /// Total estimated lore tokens.
    public var tokens: Int { fired.reduce(0) { $0 + $1.tokens } }
}

/// Decides which lorebook entries fire for a chat (Character Card V3 + SillyTavern world info rules); no I/O.
public struct LorebookActivator: Sendable {
    /// The book.
    public var book: Lorebook
    /// Most recursion passes after the chat scan.
    public var maxRecursionDepth: Int
    /// Token estimate for the budget.
    public var tokenCount: @Sendable (String) -> Int

    /// The default estimate: UTF-8 bytes / 3, as `TokenBudget`'s raw estimate.
    public static let estimateTokens: @Sendable (String) -> Int = { ($0.utf8.count + 2) / 3 }

    private let compiled: [Compiled]

    /// Compiles the book's keys and decorators once.
    public init(book: Lorebook, maxRecursionDepth: Int = 3, tokenCount: @escaping @Sendable (String) -> Int = estimateTokens) {
        self.book = book
        self.maxRecursionDepth = max(0, min(maxRecursionDepth, 3))
        self.tokenCount = tokenCount
        compiled = book.entries.enumerated().map { Compiled(entry: $1, index: $0) }
    }

    /// Key, decorator and timing facts of one entry, computed once per book.
    private struct Compiled: @unchecked Sendable {
        // @unchecked: NSRegularExpression is immutable after creation and documented thread-safe for matching.
        let uid: String
        let decorators: LorebookDecorators
        let primary: [LorebookKeyMatcher]
        let secondary: [LorebookKeyMatcher]
        let exclude: [LorebookKeyMatcher]

        init(entry: LorebookEntry, index: Int) {
            uid = entry.id.map(\.textForm) ?? "#\(index)"
            decorators = LorebookDecorators(parsing: entry.content)
            let caseSensitive = entry.caseSensitive ?? false
            let wholeWords = entry.matchWholeWords ?? true
            func compile(_ keys: [String]) -> [LorebookKeyMatcher] {
                keys.map { LorebookKeyMatcher($0, caseSensitive: caseSensitive, matchWholeWords: wholeWords) }
            }
            primary = compile(entry.keys + decorators.additionalKeys)
            secondary = compile(entry.secondaryKeys)
            exclude = compile(decorators.excludeKeys)
        }
    }

    /// Runs activation over `chat` (oldest first). `messageCount` is the whole chat's length for delay and timers
    /// (default `chat.count`); `state` is the previous activation's; `generator` rolls probabilities.
    public func activate<G: RandomNumberGenerator>(
        chat: [String], messageCount: Int? = nil, state previous: LorebookTimedState = .init(), using generator: inout G
    ) -> LorebookActivation {
        let count = messageCount ?? chat.count
        var state = previous
        // Sticky spans that ended start their cooldown; ended cooldowns are forgotten.
        for (uid, end) in state.stickyUntil where end <= count {
            state.stickyUntil[uid] = nil
            if let index = compiled.firstIndex(where: { $0.uid == uid }), let cooldown = book.entries[index].cooldown, cooldown > 0 {
                state.cooldownUntil[uid] = end + cooldown
            }
        }
        for (uid, end) in state.cooldownUntil where end <= count { state.cooldownUntil[uid] = nil }

        var fired: [LorebookFiredEntry] = []
        var skipped: [LorebookSkippedEntry] = []
        var done = Set<Int>()
        var budgetLeft = book.tokenBudget.map { max(0, $0) }
        var overflowed = false
        var recursionBuffer: [String] = []
        var pass = 0

        while pass <= maxRecursionDepth && !overflowed {
            var candidates: [LorebookFiredEntry] = []
            for (index, entry) in book.entries.enumerated() where !done.contains(index) {
                let facts = compiled[index]
                guard entry.enabled, !facts.decorators.dontActivate else { continue }
                if pass > 0 && (entry.excludeRecursion || entry.constant) { continue }
                var cause: LorebookFiredEntry.Cause
                if pass == 0, let end = state.stickyUntil[facts.uid], end > count {
                    cause = .sticky
                } else if pass == 0 && entry.constant {
                    cause = .constant
                } else if pass == 0 && facts.decorators.activate {
                    cause = .decorator
                } else {
                    let depth = max(0, facts.decorators.scanDepth ?? entry.scanDepth ?? book.scanDepth ?? Lorebook.defaultScanDepth)
                    var haystack = chat.suffix(depth).joined(separator: "\n")
                    if pass > 0 { haystack += "\n" + recursionBuffer.joined(separator: "\n") }
                    let matched = facts.primary.filter { $0.matches(haystack) }.map(\.key)
                    guard !matched.isEmpty else { continue }
                    if entry.selective && !facts.secondary.isEmpty {
                        let hits = facts.secondary.filter { $0.matches(haystack) }.count
                        let total = facts.secondary.count
                        let passes = switch entry.selectiveLogic {
                        case .andAny, .unknown: hits > 0
                        case .notAll: hits < total
                        case .notAny: hits == 0
                        case .andAll: hits == total
                        }
                        guard passes else { continue }
                    }
                    guard !facts.exclude.contains(where: { $0.matches(haystack) }) else { continue }
                    cause = .keys(matched, recursionDepth: pass)
                }
                if cause != .sticky {
                    if state.cooldownUntil[facts.uid] != nil {
                        done.insert(index)
                        skipped.append(LorebookSkippedEntry(index: index, uid: facts.uid, reason: .cooldown))
                        continue
                    }
                    let after = max(entry.delay ?? 0, facts.decorators.activateOnlyAfter ?? 0)
                    let every = facts.decorators.activateOnlyEvery ?? 1
                    if count < after || count % every != 0 {
                        done.insert(index)
                        skipped.append(LorebookSkippedEntry(index: index, uid: facts.uid, reason: .delay))
                        continue
                    }
                    let probability = entry.effectiveProbability
                    // 100 % rolls nothing, so a seeded sequence only advances for entries that can actually miss.
                    if probability < 100 && (probability <= 0 || Int.random(in: 1...100, using: &generator) > probability) {
                        done.insert(index)
                        skipped.append(LorebookSkippedEntry(index: index, uid: facts.uid, reason: .probability))
                        continue
                    }
                }
                let body = facts.decorators.body
                candidates.append(LorebookFiredEntry(
                    index: index, uid: facts.uid, label: entry.label, content: body,
                    position: facts.decorators.position ?? entry.position,
                    depth: max(0, facts.decorators.depth ?? entry.depth ?? 4),
                    role: facts.decorators.role ?? entry.role ?? .system,
                    insertionOrder: entry.insertionOrder, tokens: tokenCount(body), cause: cause))
            }
            guard !candidates.isEmpty else { break }
            // Over budget: constant entries are kept first, then sticky ones, then higher priority, then higher order.
            candidates.sort { lhs, rhs in
                let left = rank(lhs), right = rank(rhs)
                if left.0 != right.0 { return left.0 > right.0 }
                if left.1 != right.1 { return left.1 > right.1 }
                if left.2 != right.2 { return left.2 > right.2 }
                return lhs.index < rhs.index
            }
            var accepted: [LorebookFiredEntry] = []
            for candidate in candidates {
                done.insert(candidate.index)
                if overflowed {
                    skipped.append(LorebookSkippedEntry(index: candidate.index, uid: candidate.uid, reason: .budget))
                    continue
                }
                if let left = budgetLeft {
                    guard candidate.tokens <= left else {
                        // Like SillyTavern, the first entry that does not fit closes the budget for the rest.
                        overflowed = true
                        skipped.append(LorebookSkippedEntry(index: candidate.index, uid: candidate.uid, reason: .budget))
                        continue
                    }
                    budgetLeft = left - candidate.tokens
                }
                accepted.append(candidate)
            }
            fired += accepted
            guard book.recursiveScanning else { break }
            let newText = accepted.filter { !book.entries[$0.index].preventRecursion }.map(\.content)
            guard !newText.isEmpty else { break }
            recursionBuffer += newText
            pass += 1
        }

        for entry in fired where entry.cause != .sticky {
            let source = book.entries[entry.index]
            if let sticky = source.sticky, sticky > 0 {
                state.stickyUntil[entry.uid] = count + sticky
            } else if let cooldown = source.cooldown, cooldown > 0 {
                state.cooldownUntil[entry.uid] = count + cooldown
            }
        }
        fired.sort { ($0.insertionOrder, $0.index) < ($1.insertionOrder, $1.index) }
        return LorebookActivation(fired: fired, skipped: skipped, state: state, recursionPasses: min(pass, maxRecursionDepth))
    }

    private func rank(_ entry: LorebookFiredEntry) -> (Int, Int, Int) {
        let source = book.entries[entry.index]
        let tier = switch entry.cause {
        case .constant: 2
        case .sticky: 1
        default: 0
        }
        return (tier, source.priority ?? 0, source.insertionOrder)
    }

    /// Keys that can never match (invalid regex, empty key) and entries that can never fire, for `check`.
    public func problems() -> [LorebookProblem] {
        var problems: [LorebookProblem] = []
        for (index, facts) in compiled.enumerated() {
            let entry = book.entries[index]
            let lists: [(String, [String])] = [
                ("keys", entry.keys), ("secondary_keys", entry.secondaryKeys),
                ("@@additional_keys", facts.decorators.additionalKeys), ("@@exclude_keys", facts.decorators.excludeKeys),
            ]
            for (field, keys) in lists {
                for (position, key) in keys.enumerated() {
                    let matcher = LorebookKeyMatcher(key, caseSensitive: entry.caseSensitive ?? false,
                                                     matchWholeWords: entry.matchWholeWords ?? true)
                    if let reason = matcher.problem {
                        problems.append(LorebookProblem(entryIndex: index, entryLabel: entry.label, key: key,
                                                        field: "\(field)[\(position)]", message: reason))
                    }
                }
            }
            if entry.enabled && !entry.constant && !facts.decorators.activate && facts.primary.isEmpty {
                problems.append(LorebookProblem(entryIndex: index, entryLabel: entry.label, key: nil, field: "keys",
                                                message: "the entry has no keys and is not constant, so it never fires"))
            }
        }
        return problems
    }
}

/// A lorebook entry that cannot work as written.
public struct LorebookProblem: Hashable, Sendable, CustomStringConvertible {
    /// Index in `entries`.
    public var entryIndex: Int
    /// The entry's label.
    public var entryLabel: String
    /// The key at fault, if a key.
    public var key: String?
    /// Where in the entry: `keys[1]`, `secondary_keys[0]`, `@@exclude_keys[0]` or `keys`.
    public var field: String
    /// What is wrong.
    public var message: String

    /// `entry 3 "Harbour": key "/[a/": invalid regular expression …`.
    public var description: String {
        "entry \(entryIndex) \"\(entryLabel)\"" + (key.map { ": key \"\($0)\"" } ?? "") + ": \(message)"
    }
}

/// SplitMix64: a small seeded generator, so probability rolls are reproducible (tests) and stable per chat.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64

    /// Seeds the generator.
    public init(seed: UInt64) { state = seed }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// The persisted catch-up position of one Discord channel: the newest message id such that it and every
/// message before it that reached the Router have been completely handled.
///
/// The mark moves only when the Router acknowledges a message (`ChatPlatform.handled`), and never past a
/// message still in flight, so a crash mid-handling leaves the message after the mark and the restart's
/// catch-up delivers it again (the store's claims keep it from being answered twice).
///
/// Both sets are kept sorted: during a flood a busy channel has a thousand messages in flight, and they arrive and
/// are handled in order, so each step is an append or a removal at the front, not a scan of the set.
struct CatchUpMark: Sendable, Equatable {
    /// The last mark returned for persisting.
    private(set) var persisted: String?
    /// The newest message id passed on (handled or not): where a catch-up after a reconnect starts.
    private(set) var newestDelivered: String?
    private var inFlight = SortedIDs()
    private var handledAhead = SortedIDs()

    /// Starts from a mark read from the store, if any.
    init(persisted: String? = nil) { self.persisted = persisted }

    /// A message was passed to the Router.
    mutating func delivered(_ id: String) {
        if newestDelivered.map({ CatchUpMark.less($0, id) }) ?? true { newestDelivered = id }
        guard persisted.map({ CatchUpMark.less($0, id) }) ?? true else { return }
        inFlight.insert(id)
    }

    /// The Router finished a message; returns the new mark to persist when it moved.
    mutating func handled(_ id: String) -> String? {
        finish(id)
        return settle()
    }

    /// The Router finished these messages, in this order; returns the newest mark to persist when it moved (the
    /// mark handling them one at a time would end at: what is settled only grows while nothing new is delivered,
    /// so it is worked out once for the batch).
    mutating func handled(_ ids: [String]) -> String? {
        for id in ids { finish(id) }
        return settle()
    }

    private mutating func finish(_ id: String) {
        inFlight.remove(id)
        if persisted.map({ CatchUpMark.less($0, id) }) ?? true { handledAhead.insert(id) }
    }

    /// Everything handled below the oldest message still in flight is settled; the newest of it is the mark.
    private mutating func settle() -> String? {
        let settled = inFlight.first.map { handledAhead.countBelow($0) } ?? handledAhead.count
        guard settled > 0 else { return nil }
        let mark = handledAhead[settled - 1]
        handledAhead.removeFirst(settled)
        persisted = mark
        return mark
    }

    /// Snowflakes compare numerically; equal-length decimal strings compare like numbers.
    static func less(_ a: String, _ b: String) -> Bool {
        let (x, y) = (a.utf8.count, b.utf8.count)
        return x != y ? x < y : a < b
    }
}

/// Unique ids in `CatchUpMark.less` order, with cheap appends and removals at the front.
struct SortedIDs: Sendable, Equatable {
    private var storage: [String] = []
    /// Elements before `head` are removed; compacted once they are half the storage.
    private var head = 0

    var count: Int { storage.count - head }
    var first: String? { head < storage.count ? storage[head] : nil }
    subscript(offset: Int) -> String { storage[head + offset] }

    /// Where `id` is or would go.
    private func position(of id: String) -> Int {
        // The usual cases: newer than everything held (a delivery), or the oldest held (handled in order).
        if let last = storage.last, CatchUpMark.less(last, id) || head == storage.count { return storage.count }
        if head < storage.count, storage[head] == id { return head }
        var (low, high) = (head, storage.count)
        while low < high {
            let middle = (low + high) / 2
            if CatchUpMark.less(storage[middle], id) { low = middle + 1 } else { high = middle }
        }
        return low
    }

    mutating func insert(_ id: String) {
        let at = position(of: id)
        if at < storage.count, storage[at] == id { return }
        storage.insert(id, at: at)
    }

    mutating func remove(_ id: String) {
        let at = position(of: id)
        guard at < storage.count, storage[at] == id else { return }
        if at == head {
            removeFirst(1)
        } else {
            storage.remove(at: at)
        }
    }

    /// How many held ids sort before `id`.
    func countBelow(_ id: String) -> Int { position(of: id) - head }

    mutating func removeFirst(_ k: Int) {
        head += k
        if head == storage.count {
            storage.removeAll(keepingCapacity: storage.count <= 4_096)
            head = 0
        } else if head > 64, head * 2 > storage.count {
            storage.removeFirst(head)
            head = 0
        }
    }

    static func == (a: SortedIDs, b: SortedIDs) -> Bool { a.storage[a.head...] == b.storage[b.head...] }
}

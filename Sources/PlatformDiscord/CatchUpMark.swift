/// The persisted catch-up position of one Discord channel: the newest message id such that it and every
/// message before it that reached the Router have been completely handled.
///
/// The mark moves only when the Router acknowledges a message (`ChatPlatform.handled`), and never past a
/// message still in flight, so a crash mid-handling leaves the message after the mark and the restart's
/// catch-up delivers it again (the store's claims keep it from being answered twice).
///
/// Ids are snowflakes as numbers: the read loop notes every message of a bound channel here, and string ids cost
/// a retain, a release and, once handled, a free on another thread for each one, all under the lock the read loop
/// waits for.
///
/// Both sets are kept sorted: during a flood a busy channel has a thousand messages in flight, and they arrive and
/// are handled in order, so each step is an append or a removal at the front, not a scan of the set.
struct CatchUpMark: Sendable, Equatable {
    /// The last mark returned for persisting.
    private(set) var persisted: UInt64?
    /// The newest message id passed on (handled or not): where a catch-up after a reconnect starts.
    private(set) var newestDelivered: UInt64?
    private var inFlight = SortedIDs()
    private var handledAhead = SortedIDs()

    /// Starts from a mark read from the store, if any.
    init(persisted: UInt64? = nil) { self.persisted = persisted }

    /// A message was passed to the Router.
    mutating func delivered(_ id: UInt64) {
        if newestDelivered.map({ $0 < id }) ?? true { newestDelivered = id }
        guard persisted.map({ $0 < id }) ?? true else { return }
        inFlight.insert(id)
    }

    /// The Router finished a message; returns the new mark to persist when it moved.
    mutating func handled(_ id: UInt64) -> UInt64? {
        finish(id)
        return settle()
    }

    /// The Router finished these messages, in this order; returns the newest mark to persist when it moved (the
    /// mark handling them one at a time would end at: what is settled only grows while nothing new is delivered,
    /// so it is worked out once for the batch).
    mutating func handled(_ ids: [UInt64]) -> UInt64? {
        for id in ids { finish(id) }
        return settle()
    }

    private mutating func finish(_ id: UInt64) {
        inFlight.remove(id)
        if persisted.map({ $0 < id }) ?? true { handledAhead.insert(id) }
    }

    /// Everything handled below the oldest message still in flight is settled; the newest of it is the mark.
    private mutating func settle() -> UInt64? {
        let settled = inFlight.first.map { handledAhead.countBelow($0) } ?? handledAhead.count
        guard settled > 0 else { return nil }
        let mark = handledAhead[settled - 1]
        handledAhead.removeFirst(settled)
        persisted = mark
        return mark
    }

    /// A message id as a number; nil for one that is not a snowflake (the mark cannot place it, so it is not
    /// tracked: Discord's ids always are).
    static func snowflake(_ id: String) -> UInt64? {
        var id = id
        return id.withUTF8 { bytes -> UInt64? in
            // Up to 19 digits cannot overflow (UInt64.max has 20); only a 20-digit id needs checked arithmetic.
            guard (1...20).contains(bytes.count) else { return nil }
            var value: UInt64 = 0
            for byte in bytes {
                let digit = byte &- UInt8(ascii: "0")
                guard digit < 10 else { return nil }
                if bytes.count < 20 {
                    value = value &* 10 &+ UInt64(digit)
                } else {
                    let (times10, over) = value.multipliedReportingOverflow(by: 10)
                    let (sum, carry) = times10.addingReportingOverflow(UInt64(digit))
                    guard !over, !carry else { return nil }
                    value = sum
                }
            }
            return value
        }
    }

    /// Snowflakes compare numerically; equal-length decimal strings compare like numbers.
    static func less(_ a: String, _ b: String) -> Bool {
        let (x, y) = (a.utf8.count, b.utf8.count)
        return x != y ? x < y : a < b
    }
}

/// Unique ids in ascending order, with cheap appends and removals at the front.
struct SortedIDs: Sendable, Equatable {
    private var storage: [UInt64] = []
    /// Elements before `head` are removed; compacted once they are half the storage.
    private var head = 0

    var count: Int { storage.count - head }
    var first: UInt64? { head < storage.count ? storage[head] : nil }
    subscript(offset: Int) -> UInt64 { storage[head + offset] }

    /// Where `id` is or would go.
    private func position(of id: UInt64) -> Int {
        // The usual cases: newer than everything held (a delivery), or the oldest held (handled in order).
        if let last = storage.last, last < id || head == storage.count { return storage.count }
        if head < storage.count, storage[head] == id { return head }
        var (low, high) = (head, storage.count)
        while low < high {
            let middle = (low + high) / 2
            if storage[middle] < id { low = middle + 1 } else { high = middle }
        }
        return low
    }

    mutating func insert(_ id: UInt64) {
        let at = position(of: id)
        if at < storage.count, storage[at] == id { return }
        storage.insert(id, at: at)
    }

    mutating func remove(_ id: UInt64) {
        let at = position(of: id)
        guard at < storage.count, storage[at] == id else { return }
        if at == head {
            removeFirst(1)
        } else {
            storage.remove(at: at)
        }
    }

    /// How many held ids sort before `id`.
    func countBelow(_ id: UInt64) -> Int { position(of: id) - head }

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

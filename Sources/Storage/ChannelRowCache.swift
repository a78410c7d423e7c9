import Synchronization

/// Row ids of channel rows that are committed. A channel row is never changed or deleted once written, so an id
/// read here stays right for the life of the database, whichever process wrote it.
final class ChannelRowCache: Sendable {
    /// Most channels remembered; past it the cache starts again (the rows are looked up once more).
    static let capacity = 65_536
    private let rows = Mutex<[ChannelKey: Int64]>([:])

    /// The remembered id of a channel's row.
    func rowID(of channel: ChannelKey) -> Int64? {
        rows.withLock { $0[channel] }
    }

    /// Remembers ids read or written by a transaction that has committed.
    func remember(_ ids: [ChannelKey: Int64]) {
        rows.withLock { rows in
            if rows.count + ids.count > Self.capacity { rows.removeAll(keepingCapacity: true) }
            rows.merge(ids) { _, new in new }
        }
    }
}

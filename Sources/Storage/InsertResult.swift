/// The outcome of inserting a message.
public struct InsertResult: Hashable, Sendable {
    /// Row id of the stored message (the existing row when the insert was a duplicate).
    public var rowID: Int64
    /// `false` when a message with the same platform id already existed in the channel
    /// (including one that was deleted or forgotten); nothing was changed then.
    public var inserted: Bool

    /// Creates a result.
    public init(rowID: Int64, inserted: Bool) {
        self.rowID = rowID
        self.inserted = inserted
    }
}

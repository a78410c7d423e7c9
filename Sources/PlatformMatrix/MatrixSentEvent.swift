import BridgeCore

/// A Matrix event the bridge sent: the transaction id it went out under, from which its edits' ids derive (so a
/// retried edit, even after a restart, is the same transaction).
public struct MatrixSentEvent: SentMessageKind {
    /// The send's transaction id; edit `n` goes out as `<base>.e<n>`.
    public var transactionBase: String
    /// In appservice mode, the persona user that sent it (its edits go out as the same user).
    public var senderUserID: String?

    /// Creates the kind.
    public init(transactionBase: String, senderUserID: String? = nil) {
        self.transactionBase = transactionBase
        self.senderUserID = senderUserID
    }
}

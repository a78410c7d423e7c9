/// Which appservice transactions were handled, so each txnId is acted on once.
///
/// Pure: the platform asks `begin` when a transaction arrives, does what it says, and reports `finished` or
/// `failed`. Handled ids are also stored durably by the platform (`persisted` says which to look up first).
public struct AppserviceTransactionLedger: Sendable {
    /// What to do with an arriving transaction.
    public enum Decision: Hashable, Sendable {
        /// New here: look it up in the store (`persisted`), then handle it unless stored.
        case handle
        /// Handled before: answer 200 and do nothing.
        case alreadyHandled
        /// The same txnId is being handled right now: answer that it should be retried, do nothing.
        case inProgress
    }

    /// How many handled ids are remembered in memory (older ones are still found in the store).
    public let memory: Int
    private var done: Set<String> = []
    private var doneOrder: [String] = []
    private var running: Set<String> = []

    /// Creates an empty ledger.
    public init(memory: Int = 1024) { self.memory = max(1, memory) }

    /// A transaction arrived.
    public mutating func begin(_ txnID: String) -> Decision {
        if done.contains(txnID) { return .alreadyHandled }
        if running.contains(txnID) { return .inProgress }
        running.insert(txnID)
        return .handle
    }

    /// Handling ended and the id is stored: a repeat is answered without handling.
    public mutating func finished(_ txnID: String) {
        running.remove(txnID)
        guard done.insert(txnID).inserted else { return }
        doneOrder.append(txnID)
        if doneOrder.count > memory { done.remove(doneOrder.removeFirst()) }
    }

    /// Handling failed before anything was delivered: a retry handles it again.
    public mutating func failed(_ txnID: String) {
        running.remove(txnID)
    }

    /// Whether `txnID` is being handled.
    public func isRunning(_ txnID: String) -> Bool { running.contains(txnID) }
}

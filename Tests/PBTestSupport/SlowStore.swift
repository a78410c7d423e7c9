import Foundation
import Storage
import Synchronization

/// A store whose writes take turns on one FIFO lock, as the one SQLite writer connection does, and whose
/// batch inserts sleep while holding it: a consumer slowed down on purpose, to watch queues and priorities.
public final class SlowStore: Store {
    /// The store doing the work.
    public let base: any Store
    /// How long each batch insert sleeps while holding the writer lock.
    public let batchDelay: Duration
    private let writerLock = FIFOLock()
    private let held = Mutex<(on: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))
    private let batches = Mutex<(pending: Int, maxPending: Int, sizes: [Int])>((0, 0, []))

    /// The most batch inserts ever waiting for or holding the writer lock at once: a writer that queues several
    /// chatter batches ahead makes every claim behind them wait for all of them.
    public var maxPendingBatches: Int { batches.withLock { $0.maxPending } }

    /// The size of each batch insert so far, in the order they were called.
    public var batchSizes: [Int] { batches.withLock { $0.sizes } }

    /// Wraps `base`; batch inserts take `batchDelay` longer.
    public init(_ base: any Store, batchDelay: Duration) {
        self.base = base
        self.batchDelay = batchDelay
    }

    /// Makes batch inserts wait (holding the writer lock) until `release()`: a consumer stopped outright.
    public func hold() {
        held.withLock { $0.on = true }
    }

    /// Lets held and later batch inserts go on.
    public func release() {
        let waiters = held.withLock { held in
            held.on = false
            defer { held.waiters.removeAll() }
            return held.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    private func waitWhileHeld() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let go = held.withLock { held -> Bool in
                if !held.on { return true }
                held.waiters.append(continuation)
                return false
            }
            if go { continuation.resume() }
        }
    }

    private func writing<T>(_ body: () async throws -> T) async throws -> T {
        await writerLock.lock()
        defer { writerLock.unlock() }
        return try await body()
    }

    /// Forwards to `base` (writes take the writer lock in turn).
    public func insert(_ message: StoredMessage) async throws -> InsertResult { try await writing { try await base.insert(message) } }
    /// Forwards to `base` (writes take the writer lock in turn).
    public func insert(contentsOf messages: [StoredMessage]) async throws -> [InsertResult] {
        batches.withLock { batches in
            batches.pending += 1
            batches.maxPending = max(batches.maxPending, batches.pending)
            batches.sizes.append(messages.count)
        }
        defer { batches.withLock { $0.pending -= 1 } }
        return try await writing {
            await waitWhileHeld()
            // The slow disk this fake models, not a wait for an event.
            try await Task.sleep(for: batchDelay)
            return try await base.insert(contentsOf: messages)
        }
    }
    /// Forwards to `base` (writes take the writer lock in turn).
    public func message(in channel: ChannelKey, messageID: String) async throws -> StoredMessage? {
        try await base.message(in: channel, messageID: messageID)
    }
    /// Forwards to `base` (writes take the writer lock in turn).
    public func applyEdit(in channel: ChannelKey, messageID: String, newText: String, editedAt: Date) async throws -> Bool {
        try await writing { try await base.applyEdit(in: channel, messageID: messageID, newText: newText, editedAt: editedAt) }
    }
    /// Forwards to `base` (writes take the writer lock in turn).
    public func applyEdit(in channel: ChannelKey, messageID: String, newText: String, editedAt: Date,
                          by editorID: String) async throws -> Bool {
        try await writing {
            try await base.applyEdit(in: channel, messageID: messageID, newText: newText, editedAt: editedAt, by: editorID)
        }
    }
    /// Forwards to `base` (writes take the writer lock in turn).
    public func applyDeletion(in channel: ChannelKey, messageID: String, deletedAt: Date) async throws -> Bool {
        try await writing { try await base.applyDeletion(in: channel, messageID: messageID, deletedAt: deletedAt) }
    }
    /// Forwards to `base` (writes take the writer lock in turn).
    public func recentMessages(in channel: ChannelKey, limit: Int, after rowID: Int64?) async throws -> [StoredMessage] {
        try await base.recentMessages(in: channel, limit: limit, after: rowID)
    }
    /// Forwards to `base` (writes take the writer lock in turn).
    public func messageCount(in channel: ChannelKey) async throws -> Int { try await base.messageCount(in: channel) }
    /// Forwards to `base` (writes take the writer lock in turn).
    public func resetHistory(in channel: ChannelKey) async throws -> Int { try await writing { try await base.resetHistory(in: channel) } }
    /// Forwards to `base` (writes take the writer lock in turn).
    public func forgetLast(_ count: Int, in channel: ChannelKey) async throws -> Int {
        try await writing { try await base.forgetLast(count, in: channel) }
    }
    /// Forwards to `base` (writes take the writer lock in turn).
    public func recordReply(_ reply: ReplyRecord) async throws { try await writing { try await base.recordReply(reply) } }
    /// Forwards to `base` (writes take the writer lock in turn).
    public func reply(id replyID: String) async throws -> ReplyRecord? { try await base.reply(id: replyID) }
    /// Forwards to `base` (writes take the writer lock in turn).
    public func lastReply(in channel: ChannelKey, persona: String?) async throws -> ReplyRecord? {
        try await base.lastReply(in: channel, persona: persona)
    }
    /// Forwards to `base` (writes take the writer lock in turn).
    public func removeReply(id replyID: String) async throws -> ReplyRecord? { try await writing { try await base.removeReply(id: replyID) } }
    /// Forwards to `base` (writes take the writer lock in turn).
    public func claimAnswer(channel: ChannelKey, messageID: String) async throws -> Bool {
        try await writing { try await base.claimAnswer(channel: channel, messageID: messageID) }
    }
    /// Forwards to `base` (writes take the writer lock in turn).
    public func releaseAnswer(channel: ChannelKey, messageID: String) async throws {
        try await writing { try await base.releaseAnswer(channel: channel, messageID: messageID) }
    }
    /// Forwards to `base` (writes take the writer lock in turn).
    public func isAnswered(channel: ChannelKey, messageID: String) async throws -> Bool {
        try await base.isAnswered(channel: channel, messageID: messageID)
    }
    /// Forwards to `base` (writes take the writer lock in turn).
    public func channelSettings(for channel: ChannelKey) async throws -> ChannelSettings? { try await base.channelSettings(for: channel) }
    /// Forwards to `base` (writes take the writer lock in turn).
    public func setChannelSettings(_ settings: ChannelSettings, for channel: ChannelKey) async throws {
        try await writing { try await base.setChannelSettings(settings, for: channel) }
    }
    /// Forwards to `base` (writes take the writer lock in turn).
    public func updateChannelSettings(
        for channel: ChannelKey, _ body: @escaping @Sendable (inout ChannelSettings) throws -> Void
    ) async throws -> ChannelSettings {
        try await writing { try await base.updateChannelSettings(for: channel, body) }
    }
    /// Forwards to `base` (writes take the writer lock in turn).
    public func allChannelSettings() async throws -> [ChannelKey: ChannelSettings] { try await base.allChannelSettings() }
    /// Forwards to `base`.
    public func importedPersonas() async throws -> [ImportedPersonaRecord] { try await base.importedPersonas() }
    /// Forwards to `base` (writes take the writer lock in turn).
    public func saveImportedPersona(_ record: ImportedPersonaRecord) async throws {
        try await writing { try await base.saveImportedPersona(record) }
    }
    /// Forwards to `base` (writes take the writer lock in turn).
    public func removeImportedPersona(name: String) async throws -> Bool {
        try await writing { try await base.removeImportedPersona(name: name) }
    }
    /// Forwards to `base` (writes take the writer lock in turn).
    public func userPersona(platform: String, userID: String) async throws -> String? {
        try await base.userPersona(platform: platform, userID: userID)
    }
    /// Forwards to `base` (writes take the writer lock in turn).
    public func setUserPersona(_ text: String?, platform: String, userID: String) async throws {
        try await writing { try await base.setUserPersona(text, platform: platform, userID: userID) }
    }
    /// Forwards to `base`.
    public func playerPersona(platform: String, userID: String, scene: ChannelKey?) async throws -> PlayerPersona? {
        try await base.playerPersona(platform: platform, userID: userID, scene: scene)
    }
    /// Forwards to `base` (writes take the writer lock in turn).
    public func setPlayerPersona(_ persona: PlayerPersona?, platform: String, userID: String, scene: ChannelKey?) async throws {
        try await writing { try await base.setPlayerPersona(persona, platform: platform, userID: userID, scene: scene) }
    }
    /// Forwards to `base`.
    public func playerPersonas(in scene: ChannelKey, userIDs: [String]) async throws -> [String: PlayerPersona] {
        try await base.playerPersonas(in: scene, userIDs: userIDs)
    }
    /// Forwards to `base` (writes take the writer lock in turn).
    public func state(for key: String) async throws -> String? { try await base.state(for: key) }
    /// Forwards to `base` (writes take the writer lock in turn).
    public func setState(_ value: String?, for key: String) async throws { try await writing { try await base.setState(value, for: key) } }
    /// Forwards to `base` (writes take the writer lock in turn).
    public func setStates(_ values: [(key: String, value: String?)]) async throws {
        stateRounds.withLock { $0.append(ContinuousClock.now) }
        try await writing { try await base.setStates(values) }
    }

    /// When each `setStates` call came, in order.
    public var stateRoundTimes: [ContinuousClock.Instant] { stateRounds.withLock { $0 } }
    private let stateRounds = Mutex<[ContinuousClock.Instant]>([])
    /// Forwards to `base` (writes take the writer lock in turn).
    public func recordUsage(_ usage: UsageRecord) async throws { try await writing { try await base.recordUsage(usage) } }
    /// Forwards (a write).
    public func recordPrompt(_ record: PromptRecord, keepingLast: Int) async throws {
        try await writing { try await base.recordPrompt(record, keepingLast: keepingLast) }
    }
    /// Forwards.
    public func promptRecords(in channel: ChannelKey, limit: Int) async throws -> [PromptRecord] {
        try await base.promptRecords(in: channel, limit: limit)
    }
    /// Forwards.
    public func replyAlternatives(in channel: ChannelKey, replyID: String) async throws -> ReplyAlternatives? {
        try await base.replyAlternatives(in: channel, replyID: replyID)
    }
    /// Forwards (a write).
    public func setReplyAlternatives(_ alternatives: ReplyAlternatives) async throws {
        try await writing { try await base.setReplyAlternatives(alternatives) }
    }
    /// Forwards (a write).
    public func removeReplyAlternatives(in channel: ChannelKey, replyID: String) async throws -> Bool {
        try await writing { try await base.removeReplyAlternatives(in: channel, replyID: replyID) }
    }
    /// Forwards to `base` (writes take the writer lock in turn).
    public func usageTotals(_ scope: UsageScope, since: Date) async throws -> UsageTotals { try await base.usageTotals(scope, since: since) }
    /// Forwards to `base` (writes take the writer lock in turn).
    public func pruneUsage(before: Date) async throws -> Int { try await writing { try await base.pruneUsage(before: before) } }
    /// Forwards to `base` (writes take the writer lock in turn).
    public func appliedMigrations() async throws -> [String] { try await base.appliedMigrations() }
    /// Forwards to `base` (writes take the writer lock in turn).
    public func integrityCheck() async throws { try await base.integrityCheck() }
    /// Forwards to `base` (writes take the writer lock in turn).
    public func close() async throws { try await base.close() }
}

/// An async lock granted in arrival order.
final class FIFOLock: Sendable {
    private struct State {
        var held = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }
    private let state = Mutex(State())

    func lock() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let granted = state.withLock { s -> Bool in
                if !s.held {
                    s.held = true
                    return true
                }
                s.waiters.append(continuation)
                return false
            }
            if granted { continuation.resume() }
        }
    }

    /// Hands the lock straight to the longest waiter, if any.
    func unlock() {
        let next = state.withLock { s -> CheckedContinuation<Void, Never>? in
            if s.waiters.isEmpty {
                s.held = false
                return nil
            }
            return s.waiters.removeFirst()
        }
        next?.resume()
    }
}

import Foundation
import Storage
import Synchronization

/// A store whose writes take turns on one FIFO lock, as the one SQLite writer connection does, and whose
/// batch inserts sleep while holding it: a consumer slowed down on purpose, to watch queues and priorities.
final class SlowStore: Store {
    let base: any Store
    let batchDelay: Duration
    private let writerLock = FIFOLock()

    init(_ base: any Store, batchDelay: Duration) {
        self.base = base
        self.batchDelay = batchDelay
    }

    private func writing<T>(_ body: () async throws -> T) async throws -> T {
        await writerLock.lock()
        defer { writerLock.unlock() }
        return try await body()
    }

    func insert(_ message: StoredMessage) async throws -> InsertResult { try await writing { try await base.insert(message) } }
    func insert(contentsOf messages: [StoredMessage]) async throws -> [InsertResult] {
        try await writing {
            try await Task.sleep(for: batchDelay)
            return try await base.insert(contentsOf: messages)
        }
    }
    func message(in channel: ChannelKey, messageID: String) async throws -> StoredMessage? {
        try await base.message(in: channel, messageID: messageID)
    }
    func applyEdit(in channel: ChannelKey, messageID: String, newText: String, editedAt: Date) async throws -> Bool {
        try await writing { try await base.applyEdit(in: channel, messageID: messageID, newText: newText, editedAt: editedAt) }
    }
    func applyDeletion(in channel: ChannelKey, messageID: String, deletedAt: Date) async throws -> Bool {
        try await writing { try await base.applyDeletion(in: channel, messageID: messageID, deletedAt: deletedAt) }
    }
    func recentMessages(in channel: ChannelKey, limit: Int, after rowID: Int64?) async throws -> [StoredMessage] {
        try await base.recentMessages(in: channel, limit: limit, after: rowID)
    }
    func messageCount(in channel: ChannelKey) async throws -> Int { try await base.messageCount(in: channel) }
    func resetHistory(in channel: ChannelKey) async throws -> Int { try await writing { try await base.resetHistory(in: channel) } }
    func forgetLast(_ count: Int, in channel: ChannelKey) async throws -> Int {
        try await writing { try await base.forgetLast(count, in: channel) }
    }
    func recordReply(_ reply: ReplyRecord) async throws { try await writing { try await base.recordReply(reply) } }
    func reply(id replyID: String) async throws -> ReplyRecord? { try await base.reply(id: replyID) }
    func lastReply(in channel: ChannelKey, persona: String?) async throws -> ReplyRecord? {
        try await base.lastReply(in: channel, persona: persona)
    }
    func removeReply(id replyID: String) async throws -> ReplyRecord? { try await writing { try await base.removeReply(id: replyID) } }
    func claimAnswer(channel: ChannelKey, messageID: String) async throws -> Bool {
        try await writing { try await base.claimAnswer(channel: channel, messageID: messageID) }
    }
    func releaseAnswer(channel: ChannelKey, messageID: String) async throws {
        try await writing { try await base.releaseAnswer(channel: channel, messageID: messageID) }
    }
    func isAnswered(channel: ChannelKey, messageID: String) async throws -> Bool {
        try await base.isAnswered(channel: channel, messageID: messageID)
    }
    func channelSettings(for channel: ChannelKey) async throws -> ChannelSettings? { try await base.channelSettings(for: channel) }
    func setChannelSettings(_ settings: ChannelSettings, for channel: ChannelKey) async throws {
        try await writing { try await base.setChannelSettings(settings, for: channel) }
    }
    func updateChannelSettings(
        for channel: ChannelKey, _ body: @escaping @Sendable (inout ChannelSettings) throws -> Void
    ) async throws -> ChannelSettings {
        try await writing { try await base.updateChannelSettings(for: channel, body) }
    }
    func allChannelSettings() async throws -> [ChannelKey: ChannelSettings] { try await base.allChannelSettings() }
    func userPersona(platform: String, userID: String) async throws -> String? {
        try await base.userPersona(platform: platform, userID: userID)
    }
    func setUserPersona(_ text: String?, platform: String, userID: String) async throws {
        try await writing { try await base.setUserPersona(text, platform: platform, userID: userID) }
    }
    func state(for key: String) async throws -> String? { try await base.state(for: key) }
    func setState(_ value: String?, for key: String) async throws { try await writing { try await base.setState(value, for: key) } }
    func recordUsage(_ usage: UsageRecord) async throws { try await writing { try await base.recordUsage(usage) } }
    func usageTotals(_ scope: UsageScope, since: Date) async throws -> UsageTotals { try await base.usageTotals(scope, since: since) }
    func pruneUsage(before: Date) async throws -> Int { try await writing { try await base.pruneUsage(before: before) } }
    func appliedMigrations() async throws -> [String] { try await base.appliedMigrations() }
    func integrityCheck() async throws { try await base.integrityCheck() }
    func close() async throws { try await base.close() }
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

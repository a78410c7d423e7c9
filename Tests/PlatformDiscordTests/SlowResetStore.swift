import Foundation
import Storage
import Synchronization

/// A store whose `resetHistory` takes `delay` (like a busy disk or a far database) and is counted: slash commands
/// must still be acknowledged in time and run exactly once.
final class SlowResetStore: Store {
    let base: any Store
    let delay: Duration
    private let resets = Mutex(0)
    private let running = Mutex(0)

    init(base: any Store, delay: Duration) {
        self.base = base
        self.delay = delay
    }

    /// How often `resetHistory` ran.
    var resetCount: Int { resets.withLock { $0 } }
    /// How many `resetHistory` calls are under way.
    var resetsRunning: Int { running.withLock { $0 } }

    func resetHistory(in channel: ChannelKey) async throws -> Int {
        resets.withLock { $0 += 1 }
        running.withLock { $0 += 1 }
        defer { running.withLock { $0 -= 1 } }
        // The slow store itself (models a busy disk), not a wait for something to happen.
        try await Task.sleep(for: delay)
        return try await base.resetHistory(in: channel)
    }

    func forgetLast(_ count: Int, in channel: ChannelKey) async throws -> Int { try await base.forgetLast(count, in: channel) }

    func insert(_ message: StoredMessage) async throws -> InsertResult { try await base.insert(message) }
    func insert(contentsOf messages: [StoredMessage]) async throws -> [InsertResult] { try await base.insert(contentsOf: messages) }
    func message(in channel: ChannelKey, messageID: String) async throws -> StoredMessage? {
        try await base.message(in: channel, messageID: messageID)
    }
    func applyEdit(in channel: ChannelKey, messageID: String, newText: String, editedAt: Date) async throws -> Bool {
        try await base.applyEdit(in: channel, messageID: messageID, newText: newText, editedAt: editedAt)
    }
    func applyEdit(in channel: ChannelKey, messageID: String, newText: String, editedAt: Date, by editorID: String) async throws -> Bool {
        try await base.applyEdit(in: channel, messageID: messageID, newText: newText, editedAt: editedAt, by: editorID)
    }
    func applyDeletion(in channel: ChannelKey, messageID: String, deletedAt: Date) async throws -> Bool {
        try await base.applyDeletion(in: channel, messageID: messageID, deletedAt: deletedAt)
    }
    func recentMessages(in channel: ChannelKey, limit: Int, after rowID: Int64?) async throws -> [StoredMessage] {
        try await base.recentMessages(in: channel, limit: limit, after: rowID)
    }
    func messageCount(in channel: ChannelKey) async throws -> Int { try await base.messageCount(in: channel) }
    func recordReply(_ reply: ReplyRecord) async throws { try await base.recordReply(reply) }
    func reply(id replyID: String) async throws -> ReplyRecord? { try await base.reply(id: replyID) }
    func lastReply(in channel: ChannelKey, persona: String?) async throws -> ReplyRecord? {
        try await base.lastReply(in: channel, persona: persona)
    }
    func removeReply(id replyID: String) async throws -> ReplyRecord? { try await base.removeReply(id: replyID) }
    func claimAnswer(channel: ChannelKey, messageID: String) async throws -> Bool {
        try await base.claimAnswer(channel: channel, messageID: messageID)
    }
    func releaseAnswer(channel: ChannelKey, messageID: String) async throws {
        try await base.releaseAnswer(channel: channel, messageID: messageID)
    }
    func isAnswered(channel: ChannelKey, messageID: String) async throws -> Bool {
        try await base.isAnswered(channel: channel, messageID: messageID)
    }
    func channelSettings(for channel: ChannelKey) async throws -> ChannelSettings? { try await base.channelSettings(for: channel) }
    func setChannelSettings(_ settings: ChannelSettings, for channel: ChannelKey) async throws {
        try await base.setChannelSettings(settings, for: channel)
    }
    func updateChannelSettings(for channel: ChannelKey, _ body: @escaping @Sendable (inout ChannelSettings) throws -> Void)
        async throws -> ChannelSettings
    {
        try await base.updateChannelSettings(for: channel, body)
    }
    func allChannelSettings() async throws -> [ChannelKey: ChannelSettings] { try await base.allChannelSettings() }
    func importedPersonas() async throws -> [ImportedPersonaRecord] { try await base.importedPersonas() }
    func saveImportedPersona(_ record: ImportedPersonaRecord) async throws { try await base.saveImportedPersona(record) }
    func removeImportedPersona(name: String) async throws -> Bool { try await base.removeImportedPersona(name: name) }
    func userPersona(platform: String, userID: String) async throws -> String? {
        try await base.userPersona(platform: platform, userID: userID)
    }
    func setUserPersona(_ text: String?, platform: String, userID: String) async throws {
        try await base.setUserPersona(text, platform: platform, userID: userID)
    }
    func playerPersona(platform: String, userID: String, scene: ChannelKey?) async throws -> PlayerPersona? {
        try await base.playerPersona(platform: platform, userID: userID, scene: scene)
    }
    func setPlayerPersona(_ persona: PlayerPersona?, platform: String, userID: String, scene: ChannelKey?) async throws {
        try await base.setPlayerPersona(persona, platform: platform, userID: userID, scene: scene)
    }
    func playerPersonas(in scene: ChannelKey, userIDs: [String]) async throws -> [String: PlayerPersona] {
        try await base.playerPersonas(in: scene, userIDs: userIDs)
    }
    func state(for key: String) async throws -> String? { try await base.state(for: key) }
    func setState(_ value: String?, for key: String) async throws { try await base.setState(value, for: key) }
    func setStates(_ values: [(key: String, value: String?)]) async throws { try await base.setStates(values) }
    func recordUsage(_ usage: UsageRecord) async throws { try await base.recordUsage(usage) }
    func recordPrompt(_ record: PromptRecord, keepingLast: Int) async throws { try await base.recordPrompt(record, keepingLast: keepingLast) }
    func promptRecords(in channel: ChannelKey, limit: Int) async throws -> [PromptRecord] { try await base.promptRecords(in: channel, limit: limit) }
    func replyAlternatives(in channel: ChannelKey, replyID: String) async throws -> ReplyAlternatives? {
        try await base.replyAlternatives(in: channel, replyID: replyID)
    }
    func setReplyAlternatives(_ alternatives: ReplyAlternatives) async throws { try await base.setReplyAlternatives(alternatives) }
    func removeReplyAlternatives(in channel: ChannelKey, replyID: String) async throws -> Bool {
        try await base.removeReplyAlternatives(in: channel, replyID: replyID)
    }
    func usageTotals(_ scope: UsageScope, since: Date) async throws -> UsageTotals { try await base.usageTotals(scope, since: since) }
    func pruneUsage(before: Date) async throws -> Int { try await base.pruneUsage(before: before) }
    func appliedMigrations() async throws -> [String] { try await base.appliedMigrations() }
    func integrityCheck() async throws { try await base.integrityCheck() }
    func close() async throws { try await base.close() }
}

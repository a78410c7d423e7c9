import Foundation

/// Persistent history and state for the bridge: channel messages, answered-message claims,
/// reply bookkeeping, chat-changed channel settings, per-user personas and key/value state.
///
/// Implementations (`SQLiteStore`, and `PostgresStore` in StoragePostgres) must make every method safe to call
/// concurrently from many tasks and, for claims, from several processes sharing one database.
/// Deleted and forgotten messages leave a tombstone (text cleared) so a replayed platform
/// event cannot bring them back.
///
/// Methods throw `StorageError`, except that a cancelled task gets `CancellationError` and an
/// error thrown by a caller's closure is rethrown unchanged. Migration names are shared by all
/// backends (`v1-initial-schema`, …) so one test suite can check them.
public protocol Store: Sendable {
    // MARK: History

    /// Stores a message; a message whose platform id already exists in the channel
    /// (even deleted) is left unchanged and reported with `inserted == false`.
    @discardableResult
    func insert(_ message: StoredMessage) async throws -> InsertResult

    /// Stores several messages in one transaction, with the same rules as `insert(_:)`.
    @discardableResult
    func insert(contentsOf messages: [StoredMessage]) async throws -> [InsertResult]

    /// The live (not deleted) message with this platform id, if stored.
    func message(in channel: ChannelKey, messageID: String) async throws -> StoredMessage?

    /// Replaces a stored message's text and marks it edited; `false` if unknown or deleted.
    @discardableResult
    func applyEdit(in channel: ChannelKey, messageID: String, newText: String, editedAt: Date) async throws -> Bool

    /// Like `applyEdit(in:messageID:newText:editedAt:)`, but only when `editorID` is the message's original
    /// speaker and the message is not a persona's: nobody may rewrite someone else's history.
    @discardableResult
    func applyEdit(in channel: ChannelKey, messageID: String, newText: String, editedAt: Date, by editorID: String) async throws -> Bool

    /// Marks a message deleted and clears its text; `false` if unknown or already deleted.
    @discardableResult
    func applyDeletion(in channel: ChannelKey, messageID: String, deletedAt: Date) async throws -> Bool

    /// The newest `limit` live messages (with `rowID > after` when given), oldest first,
    /// ordered by timestamp then row id.
    func recentMessages(in channel: ChannelKey, limit: Int, after rowID: Int64?) async throws -> [StoredMessage]

    /// The number of live messages in the channel.
    func messageCount(in channel: ChannelKey) async throws -> Int

    /// Forgets every message of the channel (`reset`); returns how many were forgotten.
    /// Claims, settings and reply records are kept.
    @discardableResult
    func resetHistory(in channel: ChannelKey) async throws -> Int

    /// Forgets the newest `count` live messages of the channel (`forget N`); returns how many.
    @discardableResult
    func forgetLast(_ count: Int, in channel: ChannelKey) async throws -> Int

    // MARK: Replies

    /// Records a reply, replacing any record with the same `replyID` (call again as it grows).
    func recordReply(_ reply: ReplyRecord) async throws

    /// The reply with this id, if recorded.
    func reply(id replyID: String) async throws -> ReplyRecord?

    /// The newest reply in the channel, optionally only by one persona.
    func lastReply(in channel: ChannelKey, persona: String?) async throws -> ReplyRecord?

    /// Deletes a reply record and forgets its messages from history (`regenerate`);
    /// returns the removed record, or `nil` if there was none.
    @discardableResult
    func removeReply(id replyID: String) async throws -> ReplyRecord?

    // MARK: Answered-message claims

    /// Atomically claims the right to answer a message: `true` only for the first caller
    /// ever (across tasks, restarts and processes sharing the database).
    func claimAnswer(channel: ChannelKey, messageID: String) async throws -> Bool

    /// Gives a claim back, for a failure before anything was sent, so it may be answered later.
    func releaseAnswer(channel: ChannelKey, messageID: String) async throws

    /// Whether the message is claimed (answered or being answered).
    func isAnswered(channel: ChannelKey, messageID: String) async throws -> Bool

    // MARK: Channel settings

    /// Settings changed from chat for the channel, or `nil` if none were ever stored.
    func channelSettings(for channel: ChannelKey) async throws -> ChannelSettings?

    /// Stores the channel's settings, replacing the previous ones.
    func setChannelSettings(_ settings: ChannelSettings, for channel: ChannelKey) async throws

    /// Reads, changes and writes the channel's settings in one transaction; returns the result.
    /// `body` starts from `ChannelSettings()` when none are stored.
    @discardableResult
    func updateChannelSettings(
        for channel: ChannelKey, _ body: @escaping @Sendable (inout ChannelSettings) throws -> Void
    ) async throws -> ChannelSettings

    /// Every channel that has stored settings.
    func allChannelSettings() async throws -> [ChannelKey: ChannelSettings]

    // MARK: Per-user personas

    /// The `user_system` text a user set for themself, if any.
    func userPersona(platform: String, userID: String) async throws -> String?

    /// Sets a user's `user_system` text; `nil` removes it.
    func setUserPersona(_ text: String?, platform: String, userID: String) async throws

    // MARK: Player personas

    /// The player persona a user set for one scene, or with `scene` nil for every scene on `platform`.
    func playerPersona(platform: String, userID: String, scene: ChannelKey?) async throws -> PlayerPersona?

    /// Sets (or with `nil` removes) a user's player persona for one scene, or with `scene` nil for the platform.
    func setPlayerPersona(_ persona: PlayerPersona?, platform: String, userID: String, scene: ChannelKey?) async throws

    /// The player personas in effect in `scene` for each of `userIDs` (the scene's own, else the platform's), by
    /// user id; users without one are absent.
    func playerPersonas(in scene: ChannelKey, userIDs: [String]) async throws -> [String: PlayerPersona]

    // MARK: Imported personas

    /// Every persona imported from chat, by name.
    func importedPersonas() async throws -> [ImportedPersonaRecord]

    /// Stores an imported persona, replacing one of the same name.
    func saveImportedPersona(_ record: ImportedPersonaRecord) async throws

    /// Removes an imported persona; false when there was none.
    @discardableResult
    func removeImportedPersona(name: String) async throws -> Bool

    // MARK: Key/value state

    /// A stored state value (sync token, webhook id, device id), if any.
    func state(for key: String) async throws -> String?

    /// Stores a state value; `nil` removes it.
    func setState(_ value: String?, for key: String) async throws

    /// Stores several state values in one transaction (`nil` removes a key): all of them or, on error, none.
    func setStates(_ values: [(key: String, value: String?)]) async throws

    // MARK: Usage (cost budgets)

    /// Records a request's token usage, replacing any record with the same `requestID`.
    func recordUsage(_ usage: UsageRecord) async throws

    /// Sums the usage recorded in a scope with `createdAt >= since` (requests and tokens).
    func usageTotals(_ scope: UsageScope, since: Date) async throws -> UsageTotals

    /// Deletes usage records with `createdAt < before` (older than any budget window); returns how many.
    @discardableResult
    func pruneUsage(before: Date) async throws -> Int

    // MARK: Prompt records and reply alternatives

    /// Stores what a model request showed the model, replacing a record with the same request id, and keeps only
    /// the newest `keepingLast` records of the channel.
    func recordPrompt(_ record: PromptRecord, keepingLast: Int) async throws

    /// The channel's prompt records, newest first, at most `limit`.
    func promptRecords(in channel: ChannelKey, limit: Int) async throws -> [PromptRecord]

    /// The alternatives kept for a reply, if it was ever regenerated.
    func replyAlternatives(in channel: ChannelKey, replyID: String) async throws -> ReplyAlternatives?

    /// Stores a reply's alternatives, replacing earlier ones for the same reply.
    func setReplyAlternatives(_ alternatives: ReplyAlternatives) async throws

    /// Forgets a reply's alternatives; `false` when there were none.
    @discardableResult
    func removeReplyAlternatives(in channel: ChannelKey, replyID: String) async throws -> Bool

    // MARK: Scene memory

    /// The scene's long-term memory; empty, with nothing summarised, when none was ever stored.
    func sceneMemory(in channel: ChannelKey) async throws -> SceneMemory

    /// Live messages with `after < rowID < before`, oldest first by row id, at most `limit` (the span a summary covers).
    func messages(in channel: ChannelKey, after: Int64, before: Int64, limit: Int) async throws -> [StoredMessage]

    /// Stores a summary (none when its text is empty) and moves the scene's summarised-through cursor to its last
    /// row, in one transaction, only while the cursor is still `expectedCursor`; `false`, and nothing written, when
    /// another writer moved it first (so one span is never summarised twice).
    func appendMemorySummary(_ summary: MemorySummaryDraft, in channel: ChannelKey, expectedCursor: Int64) async throws -> Bool

    /// Replaces the summaries `ids` with one of `text`, kept in the place of the oldest; `false`, and nothing
    /// changed, when any of them is gone (forgotten meanwhile). Pinned facts are never folded.
    func foldMemorySummaries(_ ids: [Int64], into text: String, in channel: ChannelKey) async throws -> Bool

    /// Pins a fact to the scene's memory; returns the stored entry.
    func addPinnedFact(_ text: String, by userID: String, in channel: ChannelKey) async throws -> MemoryEntry

    /// Forgets the scene's summaries and pinned facts; the cursor stays, so the forgotten history is not summarised
    /// again. Returns how many entries were forgotten.
    @discardableResult
    func forgetMemory(in channel: ChannelKey) async throws -> Int

    // MARK: Maintenance

    /// Names of the schema migrations applied, in order (e.g. `v1-initial-schema`).
    func appliedMigrations() async throws -> [String]

    /// Checks the database for damage; throws `StorageError` with code `.integrityCheckFailed`
    /// listing the problems.
    func integrityCheck() async throws

    /// Flushes pending writes to durable storage and closes the store; later calls throw
    /// `StorageError` with code `.closed`. Closing twice is harmless.
    func close() async throws
}

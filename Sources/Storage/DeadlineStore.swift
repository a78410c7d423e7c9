import Foundation
import Synchronization

/// A `Store` whose every call ends within a deadline and at once when its task is cancelled.
///
/// A database that stops answering (a half-open TCP connection, a lock held by a stuck process) must not
/// hang a reply, a command or shutdown. A call that overruns gets `StorageError` `.timedOut`; the
/// underlying call is cancelled and left to finish on its own. `health` counts deadline failures in a
/// row, which `/readyz` reports: three in a row make the process not ready, one success clears it.
public final class DeadlineStore: Store {
    /// The wrapped store.
    public let base: any Store
    /// How long one call may take.
    public let deadline: Duration
    /// Consecutive deadline failures, for readiness.
    public let health: StoreHealth
    private let clock: any Clock<Duration>

    /// Wraps `base`; `clock` times the deadline (tests pass a manual clock).
    public init(_ base: any Store, deadline: Duration = .seconds(5), health: StoreHealth = StoreHealth(),
                clock: any Clock<Duration> = ContinuousClock()) {
        self.base = base
        self.deadline = deadline
        self.health = health
        self.clock = clock
    }

    /// Runs `body` against the base store, racing it against the deadline and the caller's cancellation.
    func run<T: Sendable>(_ operation: String, _ body: @escaping @Sendable (any Store) async throws -> T) async throws -> T {
        try Task.checkCancellation()
        let race = Race<T>()
        let base = base
        // Unstructured on purpose: a store call that ignores cancellation must not hold the caller past the
        // deadline, and a task group would wait for it. The call is cancelled and finishes on its own.
        let work = Task {
            do {
                race.finish(.success(try await body(base)))
            } catch {
                race.finish(.failure(error))
            }
        }
        let deadline = deadline
        let clock = clock
        let timeout = StorageError(
            code: .timedOut, message: "the store did not answer \(operation) within \(deadline)")
        // Unstructured for the same reason: the timer must not be awaited by the call it limits.
        let timer = Task {
            try? await clock.sleep(for: deadline)
            if !Task.isCancelled { race.finish(.failure(timeout)) }
        }
        let result = await withTaskCancellationHandler {
            await race.value()
        } onCancel: {
            race.finish(.failure(CancellationError()))
        }
        timer.cancel()
        work.cancel()
        switch result {
        case .success(let value):
            health.recordSuccess()
            return value
        case .failure(let error as StorageError) where error.code == .timedOut:
            health.recordDeadlineFailure()
            throw error
        case .failure(let error):
            throw error
        }
    }

    /// The first of the call, the deadline and cancellation to finish.
    private final class Race<T: Sendable>: Sendable {
        private let state = Mutex<(result: Result<T, any Error>?, waiter: CheckedContinuation<Result<T, any Error>, Never>?)>(
            (nil, nil))

        func finish(_ result: Result<T, any Error>) {
            let waiter = state.withLock { state -> CheckedContinuation<Result<T, any Error>, Never>? in
                guard state.result == nil else { return nil }
                state.result = result
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume(returning: result)
        }

        func value() async -> Result<T, any Error> {
            await withCheckedContinuation { continuation in
                let ready = state.withLock { state -> Result<T, any Error>? in
                    if let result = state.result { return result }
                    state.waiter = continuation
                    return nil
                }
                if let ready { continuation.resume(returning: ready) }
            }
        }
    }

    // MARK: History

    /// See `Store.insert(_:)`.
    @discardableResult
    public func insert(_ message: StoredMessage) async throws -> InsertResult {
        try await run("insert") { try await $0.insert(message) }
    }

    /// See `Store.insert(contentsOf:)`.
    @discardableResult
    public func insert(contentsOf messages: [StoredMessage]) async throws -> [InsertResult] {
        try await run("insert(contentsOf:)") { try await $0.insert(contentsOf: messages) }
    }

    /// See `Store.message(in:messageID:)`.
    public func message(in channel: ChannelKey, messageID: String) async throws -> StoredMessage? {
        try await run("message") { try await $0.message(in: channel, messageID: messageID) }
    }

    /// See `Store.applyEdit(in:messageID:newText:editedAt:)`.
    @discardableResult
    public func applyEdit(in channel: ChannelKey, messageID: String, newText: String, editedAt: Date) async throws -> Bool {
        try await run("applyEdit") { try await $0.applyEdit(in: channel, messageID: messageID, newText: newText, editedAt: editedAt) }
    }

    /// See `Store.applyEdit(in:messageID:newText:editedAt:by:)`.
    @discardableResult
    public func applyEdit(in channel: ChannelKey, messageID: String, newText: String, editedAt: Date,
                          by editorID: String) async throws -> Bool {
        try await run("applyEdit") {
            try await $0.applyEdit(in: channel, messageID: messageID, newText: newText, editedAt: editedAt, by: editorID)
        }
    }

    /// See `Store.applyDeletion(in:messageID:deletedAt:)`.
    @discardableResult
    public func applyDeletion(in channel: ChannelKey, messageID: String, deletedAt: Date) async throws -> Bool {
        try await run("applyDeletion") { try await $0.applyDeletion(in: channel, messageID: messageID, deletedAt: deletedAt) }
    }

    /// See `Store.recentMessages(in:limit:after:)`.
    public func recentMessages(in channel: ChannelKey, limit: Int, after rowID: Int64?) async throws -> [StoredMessage] {
        try await run("recentMessages") { try await $0.recentMessages(in: channel, limit: limit, after: rowID) }
    }

    /// See `Store.messageCount(in:)`.
    public func messageCount(in channel: ChannelKey) async throws -> Int {
        try await run("messageCount") { try await $0.messageCount(in: channel) }
    }

    /// See `Store.resetHistory(in:)`.
    @discardableResult
    public func resetHistory(in channel: ChannelKey) async throws -> Int {
        try await run("resetHistory") { try await $0.resetHistory(in: channel) }
    }

    /// See `Store.forgetLast(_:in:)`.
    @discardableResult
    public func forgetLast(_ count: Int, in channel: ChannelKey) async throws -> Int {
        try await run("forgetLast") { try await $0.forgetLast(count, in: channel) }
    }

    // MARK: Replies

    /// See `Store.recordReply(_:)`.
    public func recordReply(_ reply: ReplyRecord) async throws {
        try await run("recordReply") { try await $0.recordReply(reply) }
    }

    /// See `Store.reply(id:)`.
    public func reply(id replyID: String) async throws -> ReplyRecord? {
        try await run("reply") { try await $0.reply(id: replyID) }
    }

    /// See `Store.lastReply(in:persona:)`.
    public func lastReply(in channel: ChannelKey, persona: String?) async throws -> ReplyRecord? {
        try await run("lastReply") { try await $0.lastReply(in: channel, persona: persona) }
    }

    /// See `Store.removeReply(id:)`.
    @discardableResult
    public func removeReply(id replyID: String) async throws -> ReplyRecord? {
        try await run("removeReply") { try await $0.removeReply(id: replyID) }
    }

    // MARK: Answered-message claims

    /// See `Store.claimAnswer(channel:messageID:)`.
    public func claimAnswer(channel: ChannelKey, messageID: String) async throws -> Bool {
        try await run("claimAnswer") { try await $0.claimAnswer(channel: channel, messageID: messageID) }
    }

    /// See `Store.releaseAnswer(channel:messageID:)`.
    public func releaseAnswer(channel: ChannelKey, messageID: String) async throws {
        try await run("releaseAnswer") { try await $0.releaseAnswer(channel: channel, messageID: messageID) }
    }

    /// See `Store.isAnswered(channel:messageID:)`.
    public func isAnswered(channel: ChannelKey, messageID: String) async throws -> Bool {
        try await run("isAnswered") { try await $0.isAnswered(channel: channel, messageID: messageID) }
    }

    // MARK: Channel settings

    /// See `Store.channelSettings(for:)`.
    public func channelSettings(for channel: ChannelKey) async throws -> ChannelSettings? {
        try await run("channelSettings") { try await $0.channelSettings(for: channel) }
    }

    /// See `Store.setChannelSettings(_:for:)`.
    public func setChannelSettings(_ settings: ChannelSettings, for channel: ChannelKey) async throws {
        try await run("setChannelSettings") { try await $0.setChannelSettings(settings, for: channel) }
    }

    /// See `Store.updateChannelSettings(for:_:)`.
    @discardableResult
    public func updateChannelSettings(
        for channel: ChannelKey, _ body: @escaping @Sendable (inout ChannelSettings) throws -> Void
    ) async throws -> ChannelSettings {
        try await run("updateChannelSettings") { try await $0.updateChannelSettings(for: channel, body) }
    }

    /// See `Store.allChannelSettings()`.
    public func allChannelSettings() async throws -> [ChannelKey: ChannelSettings] {
        try await run("allChannelSettings") { try await $0.allChannelSettings() }
    }

    // MARK: Per-user personas

    /// See `Store.importedPersonas()`.
    public func importedPersonas() async throws -> [ImportedPersonaRecord] {
        try await run("importedPersonas") { try await $0.importedPersonas() }
    }

    /// See `Store.saveImportedPersona(_:)`.
    public func saveImportedPersona(_ record: ImportedPersonaRecord) async throws {
        try await run("saveImportedPersona") { try await $0.saveImportedPersona(record) }
    }

    /// See `Store.removeImportedPersona(name:)`.
    @discardableResult
    public func removeImportedPersona(name: String) async throws -> Bool {
        try await run("removeImportedPersona") { try await $0.removeImportedPersona(name: name) }
    }

    /// See `Store.userPersona(platform:userID:)`.
    public func userPersona(platform: String, userID: String) async throws -> String? {
        try await run("userPersona") { try await $0.userPersona(platform: platform, userID: userID) }
    }

    /// See `Store.setUserPersona(_:platform:userID:)`.
    public func setUserPersona(_ text: String?, platform: String, userID: String) async throws {
        try await run("setUserPersona") { try await $0.setUserPersona(text, platform: platform, userID: userID) }
    }

    /// See `Store.playerPersona(platform:userID:scene:)`.
    public func playerPersona(platform: String, userID: String, scene: ChannelKey?) async throws -> PlayerPersona? {
        try await run("playerPersona") { try await $0.playerPersona(platform: platform, userID: userID, scene: scene) }
    }

    /// See `Store.setPlayerPersona(_:platform:userID:scene:)`.
    public func setPlayerPersona(_ persona: PlayerPersona?, platform: String, userID: String, scene: ChannelKey?) async throws {
        try await run("setPlayerPersona") { try await $0.setPlayerPersona(persona, platform: platform, userID: userID, scene: scene) }
    }

    /// See `Store.playerPersonas(in:userIDs:)`.
    public func playerPersonas(in scene: ChannelKey, userIDs: [String]) async throws -> [String: PlayerPersona] {
        try await run("playerPersonas") { try await $0.playerPersonas(in: scene, userIDs: userIDs) }
    }

    // MARK: Key/value state

    /// See `Store.state(for:)`.
    public func state(for key: String) async throws -> String? {
        try await run("state") { try await $0.state(for: key) }
    }

    /// See `Store.setState(_:for:)`.
    public func setState(_ value: String?, for key: String) async throws {
        try await run("setState") { try await $0.setState(value, for: key) }
    }

    /// See `Store.setStates(_:)`.
    public func setStates(_ values: [(key: String, value: String?)]) async throws {
        try await run("setStates") { try await $0.setStates(values) }
    }

    // MARK: Prompt records and reply alternatives

    /// See `Store.recordPrompt(_:keepingLast:)`.
    public func recordPrompt(_ record: PromptRecord, keepingLast: Int) async throws {
        try await run("recordPrompt") { try await $0.recordPrompt(record, keepingLast: keepingLast) }
    }

    /// See `Store.promptRecords(in:limit:)`.
    public func promptRecords(in channel: ChannelKey, limit: Int) async throws -> [PromptRecord] {
        try await run("promptRecords") { try await $0.promptRecords(in: channel, limit: limit) }
    }

    /// See `Store.replyAlternatives(in:replyID:)`.
    public func replyAlternatives(in channel: ChannelKey, replyID: String) async throws -> ReplyAlternatives? {
        try await run("replyAlternatives") { try await $0.replyAlternatives(in: channel, replyID: replyID) }
    }

    /// See `Store.setReplyAlternatives(_:)`.
    public func setReplyAlternatives(_ alternatives: ReplyAlternatives) async throws {
        try await run("setReplyAlternatives") { try await $0.setReplyAlternatives(alternatives) }
    }

    /// See `Store.removeReplyAlternatives(in:replyID:)`.
    @discardableResult
    public func removeReplyAlternatives(in channel: ChannelKey, replyID: String) async throws -> Bool {
        try await run("removeReplyAlternatives") { try await $0.removeReplyAlternatives(in: channel, replyID: replyID) }
    }

    // MARK: Usage

    /// See `Store.recordUsage(_:)`.
    public func recordUsage(_ usage: UsageRecord) async throws {
        try await run("recordUsage") { try await $0.recordUsage(usage) }
    }

    /// See `Store.usageTotals(_:since:)`.
    public func usageTotals(_ scope: UsageScope, since: Date) async throws -> UsageTotals {
        try await run("usageTotals") { try await $0.usageTotals(scope, since: since) }
    }

    /// See `Store.pruneUsage(before:)`.
    @discardableResult
    public func pruneUsage(before: Date) async throws -> Int {
        try await run("pruneUsage") { try await $0.pruneUsage(before: before) }
    }

    // MARK: Maintenance

    /// See `Store.appliedMigrations()`; not limited (it runs at startup, before the bridge serves).
    public func appliedMigrations() async throws -> [String] {
        try await base.appliedMigrations()
    }

    /// See `Store.integrityCheck()`; not limited: a full check of a large database may take long.
    public func integrityCheck() async throws {
        try await base.integrityCheck()
    }

    /// See `Store.close()`; limited, so a stuck database cannot hold shutdown.
    public func close() async throws {
        try await run("close") { try await $0.close() }
    }
}

/// Consecutive deadline failures of a `DeadlineStore`, for `/readyz`.
public final class StoreHealth: Sendable {
    /// Deadline failures in a row that make the process not ready.
    public static let unhealthyAfter = 3
    private let failures = Mutex(0)

    /// Creates a healthy record.
    public init() {}

    /// Deadline failures since the last call that finished in time.
    public var consecutiveDeadlineFailures: Int { failures.withLock { $0 } }

    /// Whether fewer than `unhealthyAfter` calls in a row overran their deadline.
    public var isHealthy: Bool { consecutiveDeadlineFailures < Self.unhealthyAfter }

    func recordSuccess() { failures.withLock { $0 = 0 } }

    func recordDeadlineFailure() { failures.withLock { $0 += 1 } }
}

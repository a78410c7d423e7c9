import Foundation

extension DeadlineStore {
    /// See `Store.sceneMemory(in:)`.
    public func sceneMemory(in channel: ChannelKey) async throws -> SceneMemory {
        try await run("sceneMemory") { try await $0.sceneMemory(in: channel) }
    }

    /// See `Store.messages(in:after:before:limit:)`.
    public func messages(in channel: ChannelKey, after: Int64, before: Int64, limit: Int) async throws -> [StoredMessage] {
        try await run("messages") { try await $0.messages(in: channel, after: after, before: before, limit: limit) }
    }

    /// See `Store.appendMemorySummary(_:in:expectedCursor:)`.
    public func appendMemorySummary(_ summary: MemorySummaryDraft, in channel: ChannelKey, expectedCursor: Int64) async throws -> Bool {
        try await run("appendMemorySummary") { try await $0.appendMemorySummary(summary, in: channel, expectedCursor: expectedCursor) }
    }

    /// See `Store.foldMemorySummaries(_:into:in:)`.
    public func foldMemorySummaries(_ ids: [Int64], into text: String, in channel: ChannelKey) async throws -> Bool {
        try await run("foldMemorySummaries") { try await $0.foldMemorySummaries(ids, into: text, in: channel) }
    }

    /// See `Store.addPinnedFact(_:by:in:)`.
    public func addPinnedFact(_ text: String, by userID: String, in channel: ChannelKey) async throws -> MemoryEntry {
        try await run("addPinnedFact") { try await $0.addPinnedFact(text, by: userID, in: channel) }
    }

    /// See `Store.forgetMemory(in:)`.
    @discardableResult
    public func forgetMemory(in channel: ChannelKey) async throws -> Int {
        try await run("forgetMemory") { try await $0.forgetMemory(in: channel) }
    }
}

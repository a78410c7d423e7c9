import Foundation
import Storage

extension SlowStore {
    /// Forwards.
    public func sceneMemory(in channel: ChannelKey) async throws -> SceneMemory { try await base.sceneMemory(in: channel) }
    /// Forwards.
    public func messages(in channel: ChannelKey, after: Int64, before: Int64, limit: Int) async throws -> [StoredMessage] {
        try await base.messages(in: channel, after: after, before: before, limit: limit)
    }
    /// Forwards.
    public func appendMemorySummary(_ summary: MemorySummaryDraft, in channel: ChannelKey, expectedCursor: Int64) async throws -> Bool {
        try await base.appendMemorySummary(summary, in: channel, expectedCursor: expectedCursor)
    }
    /// Forwards.
    public func foldMemorySummaries(_ ids: [Int64], into text: String, in channel: ChannelKey) async throws -> Bool {
        try await base.foldMemorySummaries(ids, into: text, in: channel)
    }
    /// Forwards.
    public func addPinnedFact(_ text: String, by userID: String, in channel: ChannelKey) async throws -> MemoryEntry {
        try await base.addPinnedFact(text, by: userID, in: channel)
    }
    /// Forwards.
    @discardableResult
    public func forgetMemory(in channel: ChannelKey) async throws -> Int { try await base.forgetMemory(in: channel) }
}

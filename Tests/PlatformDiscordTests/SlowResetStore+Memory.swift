import Foundation
import Storage

extension SlowResetStore {
    func sceneMemory(in channel: ChannelKey) async throws -> SceneMemory { try await base.sceneMemory(in: channel) }
    func messages(in channel: ChannelKey, after: Int64, before: Int64, limit: Int) async throws -> [StoredMessage] {
        try await base.messages(in: channel, after: after, before: before, limit: limit)
    }
    func appendMemorySummary(_ summary: MemorySummaryDraft, in channel: ChannelKey, expectedCursor: Int64) async throws -> Bool {
        try await base.appendMemorySummary(summary, in: channel, expectedCursor: expectedCursor)
    }
    func foldMemorySummaries(_ ids: [Int64], into text: String, in channel: ChannelKey) async throws -> Bool {
        try await base.foldMemorySummaries(ids, into: text, in: channel)
    }
    func addPinnedFact(_ text: String, by userID: String, in channel: ChannelKey) async throws -> MemoryEntry {
        try await base.addPinnedFact(text, by: userID, in: channel)
    }
    func forgetMemory(in channel: ChannelKey) async throws -> Int { try await base.forgetMemory(in: channel) }
}

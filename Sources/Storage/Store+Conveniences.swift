import Foundation

extension Store {
    /// The newest `limit` live messages of the channel, oldest first.
    public func recentMessages(in channel: ChannelKey, limit: Int) async throws -> [StoredMessage] {
        try await recentMessages(in: channel, limit: limit, after: nil)
    }

    /// Applies an edit stamped with the current time.
    @discardableResult
    public func applyEdit(in channel: ChannelKey, messageID: String, newText: String) async throws -> Bool {
        try await applyEdit(in: channel, messageID: messageID, newText: newText, editedAt: Date())
    }

    /// Applies an edit by `editorID` stamped with the current time (only to that speaker's own, non-persona message).
    @discardableResult
    public func applyEdit(in channel: ChannelKey, messageID: String, newText: String, by editorID: String) async throws -> Bool {
        try await applyEdit(in: channel, messageID: messageID, newText: newText, editedAt: Date(), by: editorID)
    }

    /// Applies a deletion stamped with the current time.
    @discardableResult
    public func applyDeletion(in channel: ChannelKey, messageID: String) async throws -> Bool {
        try await applyDeletion(in: channel, messageID: messageID, deletedAt: Date())
    }

    /// The newest reply in the channel by any persona.
    public func lastReply(in channel: ChannelKey) async throws -> ReplyRecord? {
        try await lastReply(in: channel, persona: nil)
    }
}

import Foundation
import GRDB

extension SQLiteStore {
    /// Records a request's usage, replacing any earlier record with the same id.
    public func recordUsage(_ usage: UsageRecord) async throws {
        try Self.checkUsage(usage, location: location.description)
        try await write("recording usage of request \(usage.requestID)") { db in
            let channelRowID = try Self.createChannelRowID(usage.channel, db)
            try db.execute(sql: """
                INSERT INTO usage (request_id, channel_id, platform, server, user_id, prompt_tokens,
                                   completion_tokens, cached_tokens, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (request_id) DO UPDATE SET
                    prompt_tokens = excluded.prompt_tokens,
                    completion_tokens = excluded.completion_tokens,
                    cached_tokens = excluded.cached_tokens
                """, arguments: [
                    usage.requestID, channelRowID, usage.channel.platform, usage.serverID ?? usage.channel.serverID ?? "",
                    usage.userID, usage.promptTokens, usage.completionTokens, usage.cachedTokens,
                    usage.createdAt.storageMilliseconds,
                ])
        }
    }

    /// Sums usage in a scope since a time.
    public func usageTotals(_ scope: UsageScope, since: Date) async throws -> UsageTotals {
        let since = since.storageMilliseconds
        return try await read("summing usage") { db in
            let filter: String
            let arguments: StatementArguments
            switch scope {
            case .user(let platform, let userID):
                filter = "platform = ? AND user_id = ?"
                arguments = [platform, userID, since]
            case .server(let platform, let serverID):
                filter = "platform = ? AND server = ?"
                arguments = [platform, serverID, since]
            case .channel(let channel):
                guard let channelRowID = try Self.channelRowID(channel, db) else { return UsageTotals() }
                filter = "channel_id = ?"
                arguments = [channelRowID, since]
            }
            let row = try Row.fetchOne(db, sql: """
                SELECT count(*), coalesce(sum(prompt_tokens), 0), coalesce(sum(completion_tokens), 0),
                       coalesce(sum(cached_tokens), 0)
                FROM usage WHERE \(filter) AND created_at >= ?
                """, arguments: arguments)
            guard let row else { return UsageTotals() }
            return UsageTotals(requests: row[0], promptTokens: row[1], completionTokens: row[2], cachedTokens: row[3])
        }
    }

    /// Deletes usage records older than `before`.
    @discardableResult
    public func pruneUsage(before: Date) async throws -> Int {
        let cutoff = before.storageMilliseconds
        return try await write("pruning usage") { db in
            try db.execute(sql: "DELETE FROM usage WHERE created_at < ?", arguments: [cutoff])
            return db.changesCount
        }
    }

    private static func checkUsage(_ usage: UsageRecord, location: String) throws {
        if usage.requestID.isEmpty || usage.promptTokens < 0 || usage.completionTokens < 0 || usage.cachedTokens < 0 {
            throw StorageError(code: .invalidArgument,
                               message: "a usage record needs a request id and non-negative token counts",
                               location: location)
        }
    }
}

import Foundation
import Storage
internal import PostgresNIO

extension PostgresStore {
    /// Records a request's usage, replacing any earlier record with the same id.
    public func recordUsage(_ usage: UsageRecord) async throws {
        if usage.requestID.isEmpty || usage.promptTokens < 0 || usage.completionTokens < 0 || usage.cachedTokens < 0 {
            throw StorageError(code: .invalidArgument,
                               message: "a usage record needs a request id and non-negative token counts",
                               location: configuration.description)
        }
        let createdAt = usage.createdAt.storageMilliseconds
        try await withConnection("recording usage of request \(usage.requestID)") { connection in
            let channelRowID = try await Self.createChannelRowID(usage.channel, connection)
            try await connection.query("""
                INSERT INTO usage (request_id, channel_id, platform, server, user_id, prompt_tokens,
                                   completion_tokens, cached_tokens, created_at)
                VALUES (\(usage.requestID), \(channelRowID), \(usage.channel.platform), \(usage.serverID ?? usage.channel.serverID ?? ""),
                        \(usage.userID), \(usage.promptTokens), \(usage.completionTokens), \(usage.cachedTokens),
                        \(createdAt))
                ON CONFLICT (request_id) DO UPDATE SET
                    prompt_tokens = excluded.prompt_tokens,
                    completion_tokens = excluded.completion_tokens,
                    cached_tokens = excluded.cached_tokens
                """, logger: Self.quietLogger).drain()
        }
    }

    /// Sums usage in a scope since a time.
    public func usageTotals(_ scope: UsageScope, since: Date) async throws -> UsageTotals {
        let since = since.storageMilliseconds
        return try await withConnection("summing usage") { connection in
            let filter: PostgresQuery
            switch scope {
            case .user(let platform, let userID):
                filter = "platform = \(platform) AND user_id = \(userID) AND created_at >= \(since)"
            case .server(let platform, let serverID):
                filter = "platform = \(platform) AND server = \(serverID) AND created_at >= \(since)"
            case .channel(let channel):
                guard let channelRowID = try await Self.channelRowID(channel, connection) else { return UsageTotals() }
                filter = "channel_id = \(channelRowID) AND created_at >= \(since)"
            }
            var query: PostgresQuery = """
                SELECT count(*), coalesce(sum(prompt_tokens), 0)::BIGINT, coalesce(sum(completion_tokens), 0)::BIGINT,
                       coalesce(sum(cached_tokens), 0)::BIGINT
                FROM usage WHERE
                """
            // The prefix binds nothing, so the filter's $n placeholders stay valid.
            query.sql += " " + filter.sql
            query.binds = filter.binds
            var totals = UsageTotals()
            for try await (requests, prompt, completion, cached) in try await connection.query(
                query, logger: Self.quietLogger
            ).decode((Int, Int, Int, Int).self) {
                totals = UsageTotals(requests: requests, promptTokens: prompt, completionTokens: completion,
                                     cachedTokens: cached)
            }
            return totals
        }
    }

    /// Deletes usage records older than `before`.
    @discardableResult
    public func pruneUsage(before: Date) async throws -> Int {
        let cutoff = before.storageMilliseconds
        return try await withConnection("pruning usage") { connection in
            try await connection.query("""
                WITH pruned AS (DELETE FROM usage WHERE created_at < \(cutoff) RETURNING 1) SELECT count(*) FROM pruned
                """, logger: Self.quietLogger).decodeFirst(Int.self) ?? 0
        }
    }
}

import Foundation

/// Token usage of one model request, for cost budgets and rate limits.
///
/// Recorded once when the request is admitted (tokens may still be zero) and again, under the
/// same `requestID`, when the model reports usage; the later record replaces the earlier one.
public struct UsageRecord: Hashable, Sendable {
    /// A bridge-chosen unique id for the request (e.g. the reply id).
    public var requestID: String
    /// The channel the request answers in; its platform and server are the server scope.
    public var channel: ChannelKey
    /// Platform user id of the person who triggered the request.
    public var userID: String
    /// Prompt (input) tokens.
    public var promptTokens: Int
    /// Completion (output) tokens.
    public var completionTokens: Int
    /// Prompt tokens served from the provider's cache.
    public var cachedTokens: Int
    /// When the request was admitted; rolling windows count from here.
    public var createdAt: Date
    /// The server scope to count under when the channel key has none (a Matrix homeserver, a configured scene).
    public var serverID: String?

    /// Creates a usage record.
    public init(
        requestID: String, channel: ChannelKey, userID: String, promptTokens: Int = 0, completionTokens: Int = 0,
        cachedTokens: Int = 0, createdAt: Date, serverID: String? = nil
    ) {
        self.serverID = serverID
        self.requestID = requestID
        self.channel = channel
        self.userID = userID
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.cachedTokens = cachedTokens
        self.createdAt = createdAt
    }
}

/// Whose usage to sum.
public enum UsageScope: Hashable, Sendable {
    /// One user on one platform, across channels.
    case user(platform: String, userID: String)
    /// One channel.
    case channel(ChannelKey)
    /// Every channel of one server (Discord guild, IRC network, Matrix server) on a platform.
    case server(platform: String, serverID: String)
}

/// Summed usage of a scope over a time window.
public struct UsageTotals: Hashable, Sendable {
    /// Number of requests recorded.
    public var requests: Int
    /// Prompt tokens.
    public var promptTokens: Int
    /// Completion tokens.
    public var completionTokens: Int
    /// Cached prompt tokens.
    public var cachedTokens: Int

    /// Creates totals.
    public init(requests: Int = 0, promptTokens: Int = 0, completionTokens: Int = 0, cachedTokens: Int = 0) {
        self.requests = requests
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.cachedTokens = cachedTokens
    }

    /// Prompt plus completion tokens: what budgets count.
    public var totalTokens: Int { promptTokens + completionTokens }
}

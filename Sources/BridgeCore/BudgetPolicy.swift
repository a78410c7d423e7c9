import BridgeConfig
import Foundation

/// Decides, from usage already recorded, whether one more model request is allowed. Pure: the router
/// reads the totals from the store and applies the decision.
public struct BudgetPolicy: Hashable, Sendable {
    /// Which limit refused a request.
    public enum Scope: String, Hashable, Sendable {
        /// The user's rolling-day token budget.
        case user
        /// The channel's rolling-day token budget.
        case channel
        /// The server's rolling-day token budget.
        case server
        /// The user's per-minute message rate.
        case rate
    }

    /// The outcome of a check.
    public enum Decision: Hashable, Sendable {
        /// The request may go out.
        case allowed
        /// Refused; `used` of `limit` (tokens, or requests for `.rate`).
        case refused(Scope, used: Int, limit: Int)
    }

    /// The usage a decision is based on.
    public struct Usage: Hashable, Sendable {
        /// Tokens by the user over the last day.
        public var userTokens: Int
        /// Tokens in the channel over the last day.
        public var channelTokens: Int
        /// Tokens in the server over the last day (0 for channels without a server).
        public var serverTokens: Int
        /// Requests by the user over the last minute.
        public var userRequestsLastMinute: Int

        /// Creates usage figures.
        public init(userTokens: Int = 0, channelTokens: Int = 0, serverTokens: Int = 0, userRequestsLastMinute: Int = 0) {
            self.userTokens = userTokens
            self.channelTokens = channelTokens
            self.serverTokens = serverTokens
            self.userRequestsLastMinute = userRequestsLastMinute
        }
    }

    /// The configured limits.
    public var settings: BudgetSettings

    /// Creates a policy.
    public init(settings: BudgetSettings) { self.settings = settings }

    /// Whether any limit is configured (otherwise the router skips the store reads).
    public var isActive: Bool {
        settings.perUserTokensPerDay != nil || settings.perChannelTokensPerDay != nil
            || settings.perServerTokensPerDay != nil || settings.perUserMessagesPerMinute != nil
    }

    /// The rolling window of the token budgets.
    public static let day: TimeInterval = 86_400
    /// The rolling window of the message rate limit.
    public static let minute: TimeInterval = 60

    /// Checks the rate limit first (it resets soonest), then user, channel and server budgets.
    public func decide(_ usage: Usage, hasServer: Bool) -> Decision {
        if let limit = settings.perUserMessagesPerMinute, usage.userRequestsLastMinute >= limit {
            return .refused(.rate, used: usage.userRequestsLastMinute, limit: limit)
        }
        if let limit = settings.perUserTokensPerDay, usage.userTokens >= limit {
            return .refused(.user, used: usage.userTokens, limit: limit)
        }
        if let limit = settings.perChannelTokensPerDay, usage.channelTokens >= limit {
            return .refused(.channel, used: usage.channelTokens, limit: limit)
        }
        if hasServer, let limit = settings.perServerTokensPerDay, usage.serverTokens >= limit {
            return .refused(.server, used: usage.serverTokens, limit: limit)
        }
        return .allowed
    }

    /// Whether a refused user should get a notice now, given when they last got one.
    public func shouldNotify(lastNotice: Date?, now: Date) -> Bool {
        guard let lastNotice else { return true }
        return now.timeIntervalSince(lastNotice) >= settings.noticeIntervalSeconds
    }

    /// The short notice for a refusal.
    public static func notice(for scope: Scope, user: String) -> String {
        switch scope {
        case .rate: "\(user), you are sending requests too fast; please wait a minute. (This notice is not repeated for a while.)"
        case .user: "\(user), you have used your daily token budget; replies resume as older usage ages out of the last 24 h."
        case .channel: "This channel has used its daily token budget; replies resume as older usage ages out of the last 24 h."
        case .server: "This server has used its daily token budget; replies resume as older usage ages out of the last 24 h."
        }
    }
}

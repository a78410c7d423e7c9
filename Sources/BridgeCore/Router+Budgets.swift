import BridgeConfig
import Foundation
import Logging
import Storage

/// A model request the budgets let through, recorded in the store before it is sent.
struct Admission: Sendable {
    var record: UsageRecord
}

/// Thrown into a model stream still running when the shutdown grace period ends.
public struct ReplyInterruption: Error, Hashable, Sendable, CustomStringConvertible {
    /// Always `shuttingDown`.
    public let code = "shuttingDown"

    /// Creates the error.
    public init() {}

    /// For logs.
    public var description: String { "ReplyInterruption(\(code)): the shutdown grace period ended" }
}

extension Router {
    /// Checks the budgets and the rate limit before a model request; `nil` when refused (the user may get a
    /// rate-limited notice). An admitted request is recorded at once with its prompt estimate, so requests
    /// running concurrently already count against the budgets.
    func admit(user: ChatUser?, in channel: ChannelRef, estimatedPromptTokens: Int, platform: any PlatformSender,
               logger: Logger) async throws -> Admission? {
        let store = storeForCommands
        let key = Self.key(channel)
        let now = Date()
        // IRC nicks change freely: budgets follow the account (or user@host) the adapter gives as the identity.
        let userID = user?.identity ?? ""
        if budgetPolicy.isActive {
            let dayAgo = now.addingTimeInterval(-BudgetPolicy.day)
            var usage = BudgetPolicy.Usage()
            if !userID.isEmpty {
                let scope = UsageScope.user(platform: channel.platform, userID: userID)
                usage.userTokens = try await store.usageTotals(scope, since: dayAgo).totalTokens
                if budgetPolicy.settings.perUserMessagesPerMinute != nil {
                    usage.userRequestsLastMinute = try await store.usageTotals(
                        scope, since: now.addingTimeInterval(-BudgetPolicy.minute)).requests
                }
            }
            usage.channelTokens = try await store.usageTotals(.channel(key), since: dayAgo).totalTokens
            if let server = budgetServer(of: channel) {
                usage.serverTokens = try await store.usageTotals(.server(platform: channel.platform, serverID: server),
                                                                 since: dayAgo).totalTokens
            }
            if case .refused(let scope, let used, let limit) = budgetPolicy.decide(usage, hasServer: budgetServer(of: channel) != nil) {
                metrics.budgetRefused(platform: channel.platform, scope: scope.rawValue)
                logger.info("request refused by budget", metadata: [
                    "scope": "\(scope.rawValue)", "used": "\(used)", "limit": "\(limit)", "user": "\(userID)",
                ])
                try await sendBudgetNotice(scope, user: user, in: channel, platform: platform, now: now, logger: logger)
                return nil
            }
        }
        let record = UsageRecord(requestID: UUID().uuidString, channel: key, userID: userID,
                                 promptTokens: max(0, estimatedPromptTokens), createdAt: now,
                                 serverID: budgetServer(of: channel))
        try await store.recordUsage(record)
        return Admission(record: record)
    }

    /// One notice per user (rate and user budget) or per channel (channel and server budgets) per notice interval;
    /// the last notice time lives in the store so a restart does not repeat it.
    private func sendBudgetNotice(_ scope: BudgetPolicy.Scope, user: ChatUser?, in channel: ChannelRef,
                                  platform: any PlatformSender, now: Date, logger: Logger) async throws {
        let store = storeForCommands
        let subject = (scope == .user || scope == .rate) ? "user:\(user?.identity ?? "")" : "channel:\(channel.key)"
        let stateKey = "budget.notice.\(channel.platform).\(subject)"
        let policy = budgetPolicy
        let claimed = budgetNotices.withLock { sent -> Bool in
            guard policy.shouldNotify(lastNotice: sent[stateKey], now: now) else { return false }
            // Expired entries say nothing the store does not: drop them before the map grows large.
            if sent.count >= 4_096 { sent = sent.filter { !policy.shouldNotify(lastNotice: $0.value, now: now) } }
            sent[stateKey] = now
            return true
        }
        // The store keeps the last notice across restarts; this process's own notices are in `budgetNotices`.
        let last = try await store.state(for: stateKey).flatMap(Int64.init).map { Date(timeIntervalSince1970: Double($0) / 1_000) }
        guard claimed, policy.shouldNotify(lastNotice: last, now: now) else {
            if claimed, let last { budgetNotices.withLock { $0[stateKey] = last } }
            logger.debug("budget notice suppressed", metadata: ["scope": "\(scope.rawValue)"])
            return
        }
        try await store.setState(String(Int64((now.timeIntervalSince1970 * 1_000).rounded())), for: stateKey)
        _ = try await platform.send(BudgetPolicy.notice(for: scope, user: user?.displayName ?? "Someone"),
                                    in: channel, replyTo: nil, as: nil)
    }

    /// The server a channel's spend counts against: the platform's server id, else the binding's configured scene,
    /// else (Matrix, whose rooms carry no server id) the homeserver part of the room id.
    func budgetServer(of channel: ChannelRef) -> String? {
        if let server = channel.serverID { return server }
        if let scene = configurationForCommands.binding(for: channel)?.scene, !scene.isEmpty { return "scene:\(scene)" }
        if channel.platform == "matrix", let colon = channel.channelID.firstIndex(of: ":") {
            let server = channel.channelID[channel.channelID.index(after: colon)...]
            if !server.isEmpty { return String(server) }
        }
        return nil
    }

    /// Replaces the admission estimate with the usage the model reported, and counts tokens and cost.
    func recordSpend(_ admission: Admission, outcome: ReplyOutcome, platform: String, logger: Logger) async {
        var record = admission.record
        if let usage = outcome.usage {
            record.promptTokens = usage.promptTokens
            record.completionTokens = usage.completionTokens
            record.cachedTokens = usage.cachedTokens ?? 0
        } else if !outcome.text.isEmpty {
            // No usage (an interrupted stream): keep the prompt estimate, about four bytes per output token.
            record.completionTokens = max(1, outcome.text.utf8.count / 4)
        } else if outcome.error != nil {
            // Failed before any text (429, auth, connect): nothing was billed. The row still counts as a request.
            record.promptTokens = 0
        }
        let budgets = configurationForCommands.budgets
        let cost = budgets.estimatedCost(promptTokens: record.promptTokens, completionTokens: record.completionTokens,
                                         cachedTokens: record.cachedTokens)
        metrics.tokens(platform: platform, prompt: record.promptTokens, completion: record.completionTokens,
                       cached: record.cachedTokens, costUSD: cost)
        do {
            try await storeForCommands.recordUsage(record)
        } catch {
            logger.error("could not record token usage", metadata: ["error": "\(error)"])
        }
    }

    /// The `budget` command's answer: spend over the last 24 h and what is left, for the channel and its server.
    func budgetReport(for channel: ChannelRef) async throws -> String {
        let store = storeForCommands
        let budgets = configurationForCommands.budgets
        let since = Date().addingTimeInterval(-BudgetPolicy.day)
        func line(_ name: String, _ totals: UsageTotals, limit: Int?) -> String {
            let cost = budgets.estimatedCost(promptTokens: totals.promptTokens, completionTokens: totals.completionTokens,
                                             cachedTokens: totals.cachedTokens)
            var text = "\(name): \(totals.totalTokens) tokens in \(totals.requests) requests (≈$\(String(format: "%.4f", cost)))"
            if let limit {
                text += " of \(limit), \(max(0, limit - totals.totalTokens)) left"
            } else {
                text += ", no limit"
            }
            return text
        }
        var parts = [line("this channel", try await store.usageTotals(.channel(Self.key(channel)), since: since),
                          limit: budgets.perChannelTokensPerDay)]
        if let server = budgetServer(of: channel) {
            let totals = try await store.usageTotals(.server(platform: channel.platform, serverID: server), since: since)
            parts.append(line("server \(channel.serverName ?? server)", totals, limit: budgets.perServerTokensPerDay))
        }
        if let perUser = budgets.perUserTokensPerDay { parts.append("each user: \(perUser) tokens") }
        if let rate = budgets.perUserMessagesPerMinute { parts.append("each user: \(rate) requests per minute") }
        return "Budget, last 24 h — " + parts.joined(separator: " · ")
    }
}

import Foundation
import ModelClient

/// The moderators' view of one model request (`why`): what the model was shown and what it cost. Stored as JSON
/// per reply; it holds the request's messages and parameters only, never an API key or other secret.
public struct PromptView: Codable, Hashable, Sendable {
    /// One message of the array sent to the model.
    public struct Message: Codable, Hashable, Sendable {
        /// The wire role (`system`, `user`, `group`, …).
        public var role: String
        /// The `name` field, if any.
        public var name: String?
        /// The text sent.
        public var content: String
        /// The bridge's calibrated token estimate for this message (the API only counts the whole prompt).
        public var tokens: Int
    }

    /// Sampling parameters sent with the request.
    public struct Parameters: Codable, Hashable, Sendable {
        /// The model name, when one was set (else the provider's default for the endpoint).
        public var model: String?
        /// Temperature.
        public var temperature: Double
        /// Top-p.
        public var topP: Double
        /// Most completion tokens.
        public var maxOutputTokens: Int

        enum CodingKeys: String, CodingKey {
            case model, temperature
            case topP = "top_p"
            case maxOutputTokens = "max_output_tokens"
        }
    }

    /// Token counts and timings of the request.
    public struct Usage: Codable, Hashable, Sendable {
        /// Prompt tokens as the API counted them, else the bridge's estimate.
        public var promptTokens: Int
        /// Completion tokens as counted, else estimated from the text received.
        public var completionTokens: Int
        /// Prompt tokens served from the provider's cache.
        public var cachedTokens: Int
        /// Whether the counts came from the API (`false`: estimated, e.g. a stopped stream).
        public var reported: Bool
        /// Estimated cost in US dollars at the configured prices.
        public var estimatedCostUSD: Double
        /// Milliseconds from sending the request to the first text, if any arrived.
        public var timeToFirstTokenMs: Int?
        /// Milliseconds from sending the request to the end of the stream.
        public var totalMs: Int

        enum CodingKeys: String, CodingKey {
            case reported
            case promptTokens = "prompt_tokens"
            case completionTokens = "completion_tokens"
            case cachedTokens = "cached_tokens"
            case estimatedCostUSD = "estimated_cost_usd"
            case timeToFirstTokenMs = "time_to_first_token_ms"
            case totalMs = "total_ms"
        }
    }

    /// The request's id (also the usage record's).
    public var requestID: String
    /// The persona that answered.
    public var persona: String
    /// The reply's first platform message id, if one was sent.
    public var replyID: String?
    /// When the request was sent (ISO 8601).
    public var createdAt: String
    /// The message array, in order.
    public var messages: [Message]
    /// What was left out to fit the budget, as sentences (e.g. "12 oldest history messages").
    public var trimmed: [String]
    /// Lorebook entries that fired, by uid.
    public var lore: [String]
    /// The memory block sent, if the persona has one.
    public var memory: String?
    /// Sampling parameters.
    public var parameters: Parameters
    /// Tokens, cost and timings.
    public var usage: Usage
    /// How the reply ended: `stop`, `length`, `stopped` (by a player), or an error summary.
    public var ending: String

    enum CodingKeys: String, CodingKey {
        case persona, messages, trimmed, lore, memory, parameters, usage, ending
        case requestID = "request_id"
        case replyID = "reply_id"
        case createdAt = "created_at"
    }

    /// The JSON document, pretty-printed with sorted keys.
    public func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        // Encoding plain strings and numbers cannot fail; an empty object is the honest fallback.
        return (try? encoder.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }

    /// Decodes a stored document.
    public static func decode(_ json: String) -> PromptView? {
        try? JSONDecoder().decode(PromptView.self, from: Data(json.utf8))
    }

    /// One line for the channel: messages, tokens, cost and timings.
    public func summary(position: Int) -> String {
        var parts = ["Prompt \(position == 1 ? "of the last reply" : "\(position) replies back") (\(persona))",
                     "\(messages.count) messages",
                     "prompt \(usage.promptTokens) · completion \(usage.completionTokens) · cached \(usage.cachedTokens) tokens"
                        + (usage.reported ? "" : " (estimated)"),
                     String(format: "≈$%.5f", usage.estimatedCostUSD)]
        if let ttft = usage.timeToFirstTokenMs { parts.append("first token \(ttft) ms") }
        parts.append("total \(usage.totalMs) ms")
        parts.append(String(format: "temperature %g · top_p %g · max %d", parameters.temperature, parameters.topP,
                            parameters.maxOutputTokens))
        if !trimmed.isEmpty { parts.append("trimmed: " + trimmed.joined(separator: ", ")) }
        if !lore.isEmpty { parts.append("lore: " + lore.joined(separator: ", ")) }
        if let memory, let block = messages.first(where: { $0.role == "system" && $0.content == memory }) {
            parts.append("memory \(block.tokens) tokens")
        }
        if ending != "stop" { parts.append("ended: \(ending)") }
        return parts.joined(separator: " — ")
    }
}

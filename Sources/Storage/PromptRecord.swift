import Foundation

/// What one model request showed the model, kept for the moderators' `why` view: the message array, the
/// parameters and the usage, as a JSON document the bridge renders (secrets are never part of it).
public struct PromptRecord: Hashable, Sendable {
    /// The bridge's id of the model request (the usage record's id).
    public var requestID: String
    /// The channel the reply went to.
    public var channel: ChannelKey
    /// The reply's first platform message id, once one was sent.
    public var replyID: String?
    /// The persona that replied.
    public var personaName: String
    /// When the request was made.
    public var createdAt: Date
    /// The JSON document (UTF-8 text) describing the request.
    public var document: String

    /// Creates a record.
    public init(requestID: String, channel: ChannelKey, replyID: String?, personaName: String, createdAt: Date,
                document: String) {
        self.requestID = requestID
        self.channel = channel
        self.replyID = replyID
        self.personaName = personaName
        self.createdAt = createdAt
        self.document = document
    }
}

/// The texts a reply has had (regenerated "swipes") and which one the channel shows now.
public struct ReplyAlternatives: Hashable, Sendable {
    /// Most alternatives kept per reply; the oldest are dropped first.
    public static let limit = 10

    /// The channel of the reply.
    public var channel: ChannelKey
    /// The reply record's id (its first platform message id).
    public var replyID: String
    /// The texts, oldest first.
    public var texts: [String]
    /// Index into `texts` of the one shown (and in history).
    public var shown: Int

    /// Creates alternatives, keeping at most `limit` (the newest) and clamping `shown` into range.
    public init(channel: ChannelKey, replyID: String, texts: [String], shown: Int) {
        self.channel = channel
        self.replyID = replyID
        let dropped = max(0, texts.count - Self.limit)
        self.texts = Array(texts.dropFirst(dropped))
        self.shown = self.texts.isEmpty ? 0 : min(max(0, shown - dropped), self.texts.count - 1)
    }

    /// The text shown now.
    public var shownText: String? { texts.indices.contains(shown) ? texts[shown] : nil }
}

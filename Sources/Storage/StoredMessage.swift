import Foundation

/// One chat message in a channel's history.
///
/// Timestamps are stored with millisecond precision.
public struct StoredMessage: Hashable, Sendable {
    /// Store-assigned, monotonically increasing id; `nil` until inserted. Usable as a cursor
    /// for `Store.recentMessages(in:limit:after:)`; ids are never reused.
    public var rowID: Int64?
    /// The channel the message belongs to.
    public var channel: ChannelKey
    /// The platform's message id; unique within the channel.
    public var messageID: String
    /// The platform's id of the author.
    public var speakerID: String
    /// The author's display name at the time of the message.
    public var speakerName: String
    /// Human, persona, other persona or bot.
    public var kind: SpeakerKind
    /// The persona that spoke, when `kind` is `.persona` (or a known `.otherPersona`).
    public var personaName: String?
    /// The message text (after the latest edit).
    public var text: String
    /// When the platform says the message was created.
    public var timestamp: Date
    /// The platform message id this message replies to, if any.
    public var replyToID: String?
    /// Whether the text was changed by an edit after it was first stored.
    public var isEdited: Bool

    /// Creates a message record; `rowID` is left `nil` for the store to assign.
    public init(
        channel: ChannelKey,
        messageID: String,
        speakerID: String,
        speakerName: String,
        kind: SpeakerKind,
        personaName: String? = nil,
        text: String,
        timestamp: Date,
        replyToID: String? = nil,
        isEdited: Bool = false,
        rowID: Int64? = nil
    ) {
        self.rowID = rowID
        self.channel = channel
        self.messageID = messageID
        self.speakerID = speakerID
        self.speakerName = speakerName
        self.kind = kind
        self.personaName = personaName
        self.text = text
        self.timestamp = timestamp
        self.replyToID = replyToID
        self.isEdited = isEdited
    }
}

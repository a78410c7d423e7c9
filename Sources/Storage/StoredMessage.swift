import Foundation

/// One chat message in a channel's history.
///
/// Timestamps are stored with millisecond precision.
///
/// Its fields live in one shared box, copied on write: a recorded message is copied on its way from the router
/// through the history buffer to the writer, and inline each copy retained and released every one of its strings.
public struct StoredMessage: Hashable, Sendable {
    struct Fields: Hashable, Sendable {
        var rowID: Int64?
        var channel: ChannelKey
        var messageID: String
        var speakerID: String
        var speakerName: String
        var kind: SpeakerKind
        var personaName: String?
        var text: String
        var timestamp: Date
        var replyToID: String?
        var isEdited: Bool
    }

    // Safe to share across tasks: `fields` is only written through `unique()`, after the box has been made unique,
    // so no box another copy can see is ever changed.
    final class Box: @unchecked Sendable {
        var fields: Fields
        init(_ fields: Fields) { self.fields = fields }
    }

    private var box: Box

    /// Store-assigned, monotonically increasing id; `nil` until inserted. Usable as a cursor
    /// for `Store.recentMessages(in:limit:after:)`; ids are never reused.
    public var rowID: Int64? {
        get { box.fields.rowID }
        set { unique().fields.rowID = newValue }
    }
    /// The channel the message belongs to.
    public var channel: ChannelKey {
        get { box.fields.channel }
        set { unique().fields.channel = newValue }
    }
    /// The platform's message id; unique within the channel.
    public var messageID: String {
        get { box.fields.messageID }
        set { unique().fields.messageID = newValue }
    }
    /// The platform's id of the author.
    public var speakerID: String {
        get { box.fields.speakerID }
        set { unique().fields.speakerID = newValue }
    }
    /// The author's display name at the time of the message.
    public var speakerName: String {
        get { box.fields.speakerName }
        set { unique().fields.speakerName = newValue }
    }
    /// Human, persona, other persona or bot.
    public var kind: SpeakerKind {
        get { box.fields.kind }
        set { unique().fields.kind = newValue }
    }
    /// The persona that spoke, when `kind` is `.persona` (or a known `.otherPersona`).
    public var personaName: String? {
        get { box.fields.personaName }
        set { unique().fields.personaName = newValue }
    }
    /// The message text (after the latest edit).
    public var text: String {
        get { box.fields.text }
        set { unique().fields.text = newValue }
    }
    /// When the platform says the message was created.
    public var timestamp: Date {
        get { box.fields.timestamp }
        set { unique().fields.timestamp = newValue }
    }
    /// The platform message id this message replies to, if any.
    public var replyToID: String? {
        get { box.fields.replyToID }
        set { unique().fields.replyToID = newValue }
    }
    /// Whether the text was changed by an edit after it was first stored.
    public var isEdited: Bool {
        get { box.fields.isEdited }
        set { unique().fields.isEdited = newValue }
    }

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
        box = Box(Fields(rowID: rowID, channel: channel, messageID: messageID, speakerID: speakerID, speakerName: speakerName,
                         kind: kind, personaName: personaName, text: text, timestamp: timestamp, replyToID: replyToID,
                         isEdited: isEdited))
    }

    /// The box, made this value's own first when another copy shares it.
    private mutating func unique() -> Box {
        if !isKnownUniquelyReferenced(&box) { box = Box(box.fields) }
        return box
    }

    /// Equal when every field is; two copies of one box are equal without comparing.
    public static func == (lhs: StoredMessage, rhs: StoredMessage) -> Bool {
        lhs.box === rhs.box || lhs.box.fields == rhs.box.fields
    }

    /// Hashes every field, consistent with `==`.
    public func hash(into hasher: inout Hasher) { hasher.combine(box.fields) }
}

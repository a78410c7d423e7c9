import Foundation

/// Bookkeeping for one reply the bridge sent: which platform messages it spans, for
/// `regenerate` and `continue`.
public struct ReplyRecord: Hashable, Sendable {
    /// A bridge-chosen unique id for the reply (e.g. a UUID string).
    public var replyID: String
    /// The channel the reply was sent in.
    public var channel: ChannelKey
    /// The persona that replied.
    public var personaName: String
    /// The platform message id that triggered the reply, if any.
    public var triggerMessageID: String?
    /// Platform message ids of the reply, in order (a long reply overflows into several).
    public var messageIDs: [String]
    /// When the reply started.
    public var createdAt: Date
    /// `true` when the model stopped at its length limit, so `continue` makes sense.
    public var wasCutOff: Bool

    /// Creates a reply record.
    public init(
        replyID: String,
        channel: ChannelKey,
        personaName: String,
        triggerMessageID: String?,
        messageIDs: [String],
        createdAt: Date,
        wasCutOff: Bool = false
    ) {
        self.replyID = replyID
        self.channel = channel
        self.personaName = personaName
        self.triggerMessageID = triggerMessageID
        self.messageIDs = messageIDs
        self.createdAt = createdAt
        self.wasCutOff = wasCutOff
    }
}

import CoreMetrics

/// A sender that reports each message sent and each edit of the sender it wraps: the router's metrics, and a
/// reply's streaming history. Only the sender is wrapped; events and the service stay the adapter's.
final class ObservedSender: PlatformSender {
    let base: any PlatformSender
    private let onSend: @Sendable (SentMessageRef) -> Void
    private let onEdit: @Sendable (SentMessageRef) -> Void
    /// Counts messages received from the platform (metered senders only), made once per sender.
    let received: Counter?
    /// Receives the text of each send and edit (the router's relay echo registry), when set.
    private let sentText: (@Sendable (SentMessageRef, String, PersonaIdentity?) -> Void)?

    init(_ base: any PlatformSender, onSend: @escaping @Sendable (SentMessageRef) -> Void,
         onEdit: @escaping @Sendable (SentMessageRef) -> Void = { _ in }, received: Counter? = nil,
         sentText: (@Sendable (SentMessageRef, String, PersonaIdentity?) -> Void)? = nil) {
        self.base = base
        self.onSend = onSend
        self.onEdit = onEdit
        self.received = received
        self.sentText = sentText
    }

    /// Counts sends and edits in `metrics` under the platform's name.
    /// `sentText` also receives every text sent or edited.
    static func metered(_ base: any PlatformSender, metrics: BridgeMetrics,
                        sentText: (@Sendable (SentMessageRef, String, PersonaIdentity?) -> Void)? = nil) -> ObservedSender {
        let name = base.platformName
        return ObservedSender(base, onSend: { _ in metrics.messageSent(platform: name) },
                              onEdit: { _ in metrics.editSent(platform: name) },
                              received: metrics.messagesReceivedCounter(platform: name), sentText: sentText)
    }

    var platformName: String { base.platformName }
    var capabilities: PlatformCapabilities { base.capabilities }
    var editBudgets: EditBudgetBoard { base.editBudgets }

    func send(_ text: String, in channel: ChannelRef, replyTo: String?, as identity: PersonaIdentity?) async throws -> SentMessageRef {
        let sent = try await base.send(text, in: channel, replyTo: replyTo, as: identity)
        onSend(sent)
        sentText?(sent, text, identity)
        return sent
    }

    func edit(_ message: SentMessageRef, text: String) async throws {
        try await base.edit(message, text: text)
        onEdit(message)
        sentText?(message, text, nil)
    }

    func typing(in channel: ChannelRef) async { await base.typing(in: channel) }

    func isModerator(_ user: ChatUser, in channel: ChannelRef) async -> Bool { await base.isModerator(user, in: channel) }

    func allowsMatureContent(in channel: ChannelRef) async -> Bool { await base.allowsMatureContent(in: channel) }

    func download(_ attachment: ChatAttachment, maxBytes: Int) async throws -> [UInt8] {
        try await base.download(attachment, maxBytes: maxBytes)
    }
}

import Logging
import Synchronization

/// Wraps a reply's sender so its first message gets the `stop` control as soon as it is sent, on adapters that
/// show controls (Discord buttons); edits then change only the text and leave the control in place.
final class ControlledSender: PlatformSender {
    let base: any PlatformSender
    private let controls: any PlatformReplyControls
    private let logger: Logger
    private let sentFirst = Mutex(false)

    init(_ base: any PlatformSender, controls: any PlatformReplyControls, logger: Logger) {
        self.base = base
        self.controls = controls
        self.logger = logger
    }

    var platformName: String { base.platformName }
    var capabilities: PlatformCapabilities { base.capabilities }
    var editBudgets: EditBudgetBoard { base.editBudgets }

    func send(_ text: String, in channel: ChannelRef, replyTo: String?, as identity: PersonaIdentity?) async throws -> SentMessageRef {
        let sent = try await base.send(text, in: channel, replyTo: replyTo, as: identity)
        let first = sentFirst.withLock { done in
            defer { done = true }
            return !done
        }
        if first {
            do {
                try await controls.setControls(ReplyControlState(streaming: true), on: sent)
            } catch {
                logger.warning("could not attach the stop control", metadata: ["error": "\(error)"])
            }
        }
        return sent
    }

    func edit(_ message: SentMessageRef, text: String) async throws { try await base.edit(message, text: text) }

    func typing(in channel: ChannelRef) async { await base.typing(in: channel) }

    func isModerator(_ user: ChatUser, in channel: ChannelRef) async -> Bool { await base.isModerator(user, in: channel) }
}

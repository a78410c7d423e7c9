import BridgeConfig
import Foundation
import Logging
import Storage
import Synchronization

/// The router's relay state: each platform's relay bots, and what the bridge sent lately so a relay carrying it
/// back is recognised.
final class RouterRelays: Sendable {
    /// The relays' rules, compiled.
    let matcher: RelayMatcher
    /// Texts the bridge sent or edited lately, on every platform (a relay carries them across platforms).
    let echoes = Mutex(RelayEchoRegistry())

    init(_ relays: [String: [RelaySettings]]) {
        matcher = RelayMatcher(relays: relays)
    }
}

extension Router {
    /// The adapter's sender wrapped to count sends and edits and, when any platform has a relay, to remember their
    /// texts for echo suppression.
    func meteredSender(_ platform: any PlatformSender) -> ObservedSender {
        guard !relays.matcher.isEmpty else { return ObservedSender.metered(platform, metrics: metrics) }
        let relays = self.relays
        // The sender lives in the router's own pumps (and tests' `handle`), so holding the router makes no cycle.
        return ObservedSender.metered(platform, metrics: metrics) { ref, text, identity in
            let now = self.elapsedNow
            relays.echoes.withLock { registry in
                registry.recordSent(key: "\(ref.channel.key)|\(ref.messageID)", channel: ref.channel.key, text: text,
                                    speaker: identity?.displayName, now: now)
            }
        }
    }

    /// The message as the router goes on to handle it: a relay's message credited to the speaker it names. Nil
    /// when nothing more is to be done: a relay carrying one of the bridge's own texts back (ignored, not recorded,
    /// so nothing loops), or a relay's line that names nobody (recorded under the relay's name, never answered).
    func relayIntake(_ message: IncomingMessage, logger: Logger) async -> IncomingMessage? {
        switch relays.matcher.read(message) {
        case .direct:
            return message
        case .relayStatus:
            logger.debug("relay line names no speaker; recorded only", metadata: [
                "relay": "\(message.author.id)", "message-id": "\(message.messageID)",
            ])
            await recorder.record(StoredMessage(
                channel: Self.key(message.channel), messageID: message.messageID, speakerID: message.author.id,
                speakerName: message.author.displayName, kind: message.author.isBot ? .bot : .human, text: message.text,
                timestamp: message.timestamp ?? Date(), replyToID: message.replyTo))
            return nil
        case .credited(let credited):
            let now = elapsedNow
            if relays.echoes.withLock({ registry in registry.isEcho(nick: credited.author.displayName, text: credited.text, now: now) }) {
                logger.info("relay carried our own message back; ignored", metadata: [
                    "relay": "\(message.author.id)", "message-id": "\(message.messageID)",
                ])
                return nil
            }
            return credited
        }
    }
}

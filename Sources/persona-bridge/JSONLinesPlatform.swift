import BridgeCore
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// A scriptable adapter over standard input and output, for smoke tests and operations checks: each input
/// line is a JSON message (`{"channel":"c1","user":"u1","name":"Ann","text":"hi"}`, optional `server`, `id`,
/// `mention`), and every send or edit the bridge makes is printed as a JSON line
/// (`{"op":"send","id":"o1","channel":"c1","text":"…"}`, `{"op":"edit","id":"o1","text":"…"}`).
///
/// Unlike the console it serves any number of channels at once. End of input does not stop it; a signal does.
final class JSONLinesPlatform: ChatPlatform, Sendable {
    let platformName = "jsonl"
    let events = BoundedEventQueue<PlatformEvent>(capacity: 256)
    let capabilities = PlatformCapabilities(canEdit: true, maxLength: 2000)
    let editBudgets = EditBudgetBoard(fallback: EditBudget(burst: 10, interval: .milliseconds(100)))

    private let moderators: Set<String>
    private let defaultServer: String?
    private let logger: Logger
    /// The id counter; holding it also keeps output lines whole.
    private let counter = Mutex(0)

    /// Creates the adapter; `moderators` are user ids allowed to run moderator commands.
    init(moderators: Set<String>, defaultServer: String?, logger: Logger) {
        self.moderators = moderators
        self.defaultServer = defaultServer
        self.logger = logger
    }

    /// Reads standard input until graceful shutdown.
    func run() async throws {
        let (lines, feed) = AsyncStream.makeStream(of: String.self, bufferingPolicy: .unbounded)
        let reader = Thread {
            while let line = readLine(strippingNewline: true) {
                if case .terminated = feed.yield(line) { return }
            }
            feed.finish()
        }
        reader.name = "persona-bridge.jsonl-input"
        reader.start()
        print(["op": "ready"])
        await withGracefulShutdownHandler {
            for await line in lines { await self.accept(line) }
            // End of input is not the end of the bridge: replies may still be streaming.
            try? await gracefulShutdown()
        } onGracefulShutdown: {
            feed.finish()
        }
        events.finish()
        print(["op": "closed"])
    }

    private func accept(_ line: String) async {
        guard !line.trimmingCharacters(in: .whitespaces).isEmpty else { return }
        guard let object = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any],
              let channelID = object["channel"] as? String, let text = object["text"] as? String else {
            logger.warning("jsonl: ignoring a line that is not {\"channel\":…,\"text\":…}")
            return
        }
        let user = object["user"] as? String ?? "user"
        let channel = ChannelRef(platform: platformName, channelID: channelID,
                                 serverID: object["server"] as? String ?? defaultServer)
        let message = IncomingMessage(
            channel: channel, author: ChatUser(id: user, displayName: object["name"] as? String ?? user),
            messageID: object["id"] as? String ?? nextID("in"), text: text,
            mentionsUs: object["mention"] as? Bool ?? false)
        await events.send(.messageCreated(message))
    }

    /// Ids this process makes are unique across runs on one store (see `SessionIDPrefix`). Input lines
    /// with their own `id` keep it: the sender then owns its uniqueness.
    private let session = SessionIDPrefix.make()

    private func nextID(_ prefix: String) -> String {
        let number = counter.withLock { counter in
            counter += 1
            return counter
        }
        return "\(prefix)\(session)-\(number)"
    }

    private func print(_ object: [String: String]) {
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else { return }
        counter.withLock { _ in FileHandle.standardOutput.write(data + Data("\n".utf8)) }
    }

    func send(_ text: String, in channel: ChannelRef, replyTo: String?, as identity: PersonaIdentity?) async throws -> SentMessageRef {
        let id = nextID("out")
        print(["op": "send", "id": id, "channel": channel.channelID, "text": text, "reply_to": replyTo ?? ""])
        return SentMessageRef(channel: channel, messageID: id)
    }

    func edit(_ message: SentMessageRef, text: String) async throws {
        print(["op": "edit", "id": message.messageID, "channel": message.channel.channelID, "text": text])
    }

    func typing(in channel: ChannelRef) async {}

    func isModerator(_ user: ChatUser, in channel: ChannelRef) async -> Bool { moderators.contains(user.id) }
}

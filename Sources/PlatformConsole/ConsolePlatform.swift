import BridgeCore
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// A terminal chat: each input line is a message from the current speaker, replies stream in place.
///
/// `/as NAME` switches the speaker so one person can try a group scene; `/who` shows it; `/quit` ends.
/// The person at the terminal owns the bridge, so every speaker counts as a moderator here.
public final class ConsolePlatform: ChatPlatform, Sendable {
    /// The console's one channel.
    public let channel: ChannelRef
    /// Short platform name.
    public let platformName = "console"
    /// Incoming events: one per typed line.
    public let events = BoundedEventQueue<PlatformEvent>(capacity: 256)
    /// The terminal edits in place and has no practical length limit, but keeps messages readable.
    public let capabilities = PlatformCapabilities(
        canEdit: true, maxLength: 4000, lengthUnit: .characters, textFormat: .markdown)
    /// A terminal can take an edit every few milliseconds.
    public let editBudgets = EditBudgetBoard(fallback: EditBudget(burst: 20, interval: .milliseconds(15)))

    private let output: ConsoleOutput
    private let input: ConsoleInput
    private let state: ConsoleState
    private let logger: Logger

    /// Creates the console adapter.
    /// - Parameters:
    ///   - channelName: the scene name shown to the model in the `group` role.
    ///   - speaker: who is typing at first.
    ///   - input: where lines come from (standard input by default).
    ///   - output: where the transcript goes (standard output by default).
    public init(
        channelName: String = "console", speaker: String = ProcessInfo.processInfo.environment["USER"] ?? "you",
        input: ConsoleInput = .standardInput, output: ConsoleOutput = .standardOutput, logger: Logger
    ) {
        channel = ChannelRef(
            platform: "console", channelID: channelName, serverID: "local", channelName: channelName,
            serverName: "terminal")
        self.output = output
        self.input = input
        self.state = ConsoleState(speaker: speaker)
        var logger = logger
        logger[metadataKey: "platform"] = "console"
        self.logger = logger
    }

    /// Reads lines until end of input, `/quit`, or graceful shutdown.
    public func run() async throws {
        output.write("Speaking as \(state.speaker). Type a message; /as NAME switches speaker; /quit ends.\n")
        let lines = input.lines()
        let output = output
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                // Ends a streamed reply's line once it goes quiet, so typing starts on a fresh line.
                group.addTask {
                    while !Task.isCancelled {
                        try? await Task.sleep(for: .milliseconds(200))
                        output.settle(quiet: .milliseconds(600))
                    }
                }
                for await line in lines {
                    if !(await handle(line)) { break }
                }
                group.cancelAll()
            }
        } onGracefulShutdown: {
            lines.stop()
        }
        events.finish()
    }

    /// Handles one typed line; returns false when the user asked to leave.
    func handle(_ raw: String) async -> Bool {
        let line = raw.trimmingCharacters(in: .whitespaces)
        if line.isEmpty { return true }
        if line == "/quit" || line == "/exit" { return false }
        if line == "/who" {
            output.write("Speaking as \(state.speaker).\n")
            return true
        }
        if line.hasPrefix("/as") {
            let name = line.dropFirst(3).trimmingCharacters(in: .whitespaces)
            guard !name.isEmpty, name.count <= 40 else {
                output.write("Usage: /as NAME (at most 40 characters)\n")
                return true
            }
            state.speaker = name
            output.write("Now speaking as \(name).\n")
            return true
        }
        let speaker = state.speaker
        let message = IncomingMessage(
            channel: channel, author: ChatUser(id: speaker.lowercased(), displayName: speaker),
            messageID: state.nextMessageID(), text: line)
        await events.send(.messageCreated(message))
        return true
    }

    /// Prints a new message from a persona.
    public func send(_ text: String, in channel: ChannelRef, replyTo: String?, as identity: PersonaIdentity?) async throws
        -> SentMessageRef
    {
        let id = state.nextMessageID()
        let name = identity?.displayName ?? "bot"
        output.streamStart(id: id, header: "\(name): ", text: text)
        return SentMessageRef(channel: channel, messageID: id)
    }

    /// Streams the new text in place: appends what was added, or reprints when earlier text changed.
    public func edit(_ message: SentMessageRef, text: String) async throws {
        output.streamUpdate(id: message.messageID, text: text)
    }

    /// Ends a reply that is still on the current line, so the shell prompt starts on its own line.
    public func finishOutput() {
        output.settle(quiet: .zero)
    }

    /// The terminal shows no typing indicator.
    public func typing(in channel: ChannelRef) async {}

    /// Whoever sits at the terminal runs the bridge, so every console speaker is a moderator.
    public func isModerator(_ user: ChatUser, in channel: ChannelRef) async -> Bool { true }
}

/// The console's mutable state: who speaks, and message ids.
final class ConsoleState: Sendable {
    private let state: Mutex<(speaker: String, counter: Int)>

    init(speaker: String) { state = Mutex((speaker, 0)) }

    var speaker: String {
        get { state.withLock { $0.speaker } }
        set { state.withLock { $0.speaker = newValue } }
    }

    /// Ids unique across sessions on one store (see `SessionIDPrefix`).
    private let session = SessionIDPrefix.make()

    func nextMessageID() -> String {
        let counter = state.withLock { state in
            state.counter += 1
            return state.counter
        }
        return "c\(session)-\(counter)"
    }
}

import Synchronization

/// What a command run for a platform interaction (e.g. a Discord slash command) answered.
public struct InteractionOutcome: Hashable, Sendable {
    /// The text answers, in order (empty when the command only acted, e.g. `regenerate`).
    public var texts: [String]
    /// Whether the command was refused for lack of moderator rights (nothing changed).
    public var refused: Bool
    /// A file to deliver with the answer (the prompt view's `prompt.json`).
    public var attachment: InteractionAttachment?

    /// Creates an outcome.
    public init(texts: [String], refused: Bool, attachment: InteractionAttachment? = nil) {
        self.texts = texts
        self.refused = refused
        self.attachment = attachment
    }
}

extension Router {
    /// Runs `command` for `user` in `channel` as if typed there, but returns the answers instead of posting them,
    /// so the adapter can reply ephemerally. Replies the command itself produces (regenerate, continue) still post.
    public func runInteraction(_ command: BridgeCommand, by user: ChatUser, in channel: ChannelRef,
                               platform: any PlatformSender, target: String? = nil) async -> InteractionOutcome {
        var allowed = !command.needsModerator || isDirectPick(command, by: user, in: channel)
        if !allowed, !user.isBot {
            allowed = configurationForCommands.isAdmin(user, on: channel.platform) ? true : await platform.isModerator(user, in: channel)
        }
        if !allowed {
            return InteractionOutcome(
                texts: ["Sorry \(user.displayName), only moderators or bridge admins can do that here. Nothing was changed."],
                refused: true)
        }
        let texts = Mutex<[String]>([])
        do {
            if case .why(let n) = command {
                // The prompt goes back to the moderator alone, as a file, never into the channel.
                guard let view = try await promptView(n, in: channel) else {
                    return InteractionOutcome(texts: ["No stored prompt for that reply (only the last \(configurationForCommands.promptRecordsPerScene) replies keep theirs)."],
                                              refused: false)
                }
                return InteractionOutcome(texts: [view.summary(position: n)], refused: false, attachment: InteractionAttachment(
                    filename: "prompt.json", contentType: "application/json", contents: Array(view.json().utf8)))
            }
            if command.isReplyControl {
                // Interactions come here without passing the router's intake: history they read must be committed.
                await flushHistory()
                if let refusal = try await controlRefusal(command, by: user, in: channel, target: target, platform: platform) {
                    var logger = commandLogger
                    logger[metadataKey: "channel"] = "\(channel.key)"
                    logger.info("control refused", metadata: ["user": "\(user.id)", "command": "\(command)", "reason": "\(refusal)"])
                    return InteractionOutcome(texts: [refusal], refused: true)
                }
                try await runControl(command, author: user, in: channel, platform: platform, replyTo: nil, checked: true) { text in
                    texts.withLock { $0.append(text) }
                }
                return InteractionOutcome(texts: texts.withLock { $0 }, refused: false)
            }
            try await runCommand(.success(command), author: user, in: channel, platform: platform) { text in
                texts.withLock { $0.append(text) }
            }
        } catch {
            var logger = commandLogger
            logger[metadataKey: "channel"] = "\(channel.key)"
            logger.error("interaction command failed", metadata: ["error": "\(error)"])
            texts.withLock { $0.append("That did not work: the bridge hit an error. Nothing more was changed.") }
        }
        return InteractionOutcome(texts: texts.withLock { $0 }, refused: false)
    }

    /// Runs an interaction request (a slash command, a button press or a control reaction), answers it, and then
    /// does what the command left for after its answer (closing a scene's thread, which would refuse a later one).
    func answerInteraction(_ request: InteractionRequest, platform: any PlatformSender) async {
        let afterAnswer = AfterAnswer()
        let outcome = await Self.$afterAnswer.withValue(afterAnswer) {
            await runInteraction(request.command, by: request.user, in: request.channel, platform: platform,
                                 target: request.targetMessageID)
        }
        await request.respond(outcome)
        await afterAnswer.run()
    }

    /// Where a command run for an interaction leaves work for after its answer; nil for chat commands, which
    /// answer in the channel as they go. A task local, so the commands' shared `answer` path needs no new parameter.
    @TaskLocal static var afterAnswer: AfterAnswer?

    /// Runs `work` once the command's answer is sent when the command runs for an interaction, else now.
    func whenAnswered(_ work: @escaping @Sendable () async -> Void) async {
        if let later = Self.afterAnswer { later.append(work) } else { await work() }
    }
}

/// Work a command leaves for after its interaction's answer, run in order.
final class AfterAnswer: Sendable {
    private let work = Mutex<[@Sendable () async -> Void]>([])

    func append(_ item: @escaping @Sendable () async -> Void) { work.withLock { $0.append(item) } }

    func run() async {
        for item in work.withLock({ items in defer { items.removeAll() }; return items }) { await item() }
    }
}

/// A file an interaction's answer carries.
public struct InteractionAttachment: Hashable, Sendable {
    /// File name shown, e.g. `prompt.json`.
    public var filename: String
    /// MIME type.
    public var contentType: String
    /// The bytes.
    public var contents: [UInt8]

    /// Creates an attachment.
    public init(filename: String, contentType: String, contents: [UInt8]) {
        self.filename = filename
        self.contentType = contentType
        self.contents = contents
    }
}

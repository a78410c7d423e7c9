import BridgeCore
import Foundation

extension DiscordPlatform {
    /// Registers the slash commands once per process, per guild or globally as configured.
    func registerCommands(guildIDs: [String]) async {
        guard let applicationID = state.withLock({ $0.applicationID }) else { return }
        let targets: [String?]
        switch configuration.slashCommands {
        case .off, .unknown: return
        case .global: targets = [nil]
        case .guild(let configured): targets = configured.isEmpty ? guildIDs : configured
        }
        for guildID in targets {
            do {
                _ = try await rest.request(.overwriteCommands(applicationID: applicationID, guildID: guildID),
                                           body: DiscordMessageBuilder.slashCommands)
                logger.info("discord slash commands registered", metadata: ["guild": "\(guildID ?? "global")"])
            } catch {
                logger.warning("discord slash command registration failed", metadata: ["guild": "\(guildID ?? "global")", "error": "\(error)"])
            }
        }
    }

    /// Answers a slash command within 3 s: at once when the command is quick, else deferred and edited in.
    func handleInteraction(_ interaction: DiscordInteraction) async {
        if interaction.type == 3 { return await handleComponent(interaction) }
        guard interaction.type == 2, let channelID = interaction.channelId else { return }
        let invoker = interaction.member?.user ?? interaction.user
        guard let invoker else { return }
        let user = ChatUser(id: invoker.id, displayName: invoker.globalName ?? invoker.username ?? invoker.id, isBot: invoker.bot == true)
        state.withLock { s in
            if let guild = interaction.guildId, let roles = interaction.member?.roles { s.memberRoles[MemberKey(guild: guild, user: invoker.id)] = roles }
            if let perms = interaction.member?.permissions {
                s.interactionPermissions[invoker.id + ":" + channelID] = (perms, clock.now)
            }
        }
        let channel = channelRef(channelID, guildID: interaction.guildId)
        let callback = DiscordRoute.interactionCallback(id: interaction.id, token: interaction.token)
        let command: BridgeCommand
        switch interaction.bridgeCommand {
        case .failure(let error):
            await respond(callback, body: DiscordMessageBuilder.interactionReply(content: error.message, ephemeral: true))
            return
        case .success(let parsed): command = parsed
        }
        let slow: Bool
        // A card import downloads a file first: acknowledged at once, like regenerate and continue.
        if case .personaImport = command { slow = true } else { slow = command == .regenerate || command == .continueReply }
        // The router answers through the request's responder; the answer comes back on this stream.
        let (answers, answer) = AsyncStream.makeStream(of: InteractionOutcome.self, bufferingPolicy: .bufferingNewest(1))
        // The responder returns once the answer is on Discord, so what the command left for after its answer (a
        // scene's thread closing) happens after it; this function finishes the stream on every way out.
        let (deliveries, delivered) = AsyncStream.makeStream(of: Void.self)
        defer { delivered.finish() }
        let request = InteractionRequest(id: interaction.id, command: command, user: user, channel: channel) { outcome in
            answer.yield(outcome)
            answer.finish()
            for await _ in deliveries {}
        }
        guard await events.send(.interaction(request)) else {
            await respond(callback,
                          body: DiscordMessageBuilder.interactionReply(content: "The bridge is shutting down; try again in a moment.", ephemeral: true))
            return
        }
        // The command runs exactly once. A quick answer goes straight into the callback; otherwise the
        // interaction is acknowledged (deferred) the moment the timer fires, well inside Discord's 3 s, while
        // the command runs on, and its answer is edited into the original response.
        enum Step: Sendable {
            case answered(InteractionOutcome)
            case timer
        }
        let (outcome, deferred) = await withTaskGroup(of: Step.self) { group -> (InteractionOutcome, Bool) in
            group.addTask {
                for await outcome in answers { return .answered(outcome) }
                // The adapter stopped before the router answered.
                return .answered(InteractionOutcome(texts: ["The bridge stopped before this command ran."], refused: false))
            }
            group.addTask { [clock] in
                if !slow { try? await clock.sleep(until: clock.now + Self.immediateAnswerTime) }
                return .timer
            }
            var deferred = false
            while let step = await group.next() {
                switch step {
                case .answered(let outcome):
                    group.cancelAll()
                    return (outcome, deferred)
                case .timer:
                    deferred = true
                    await respond(callback, body: DiscordMessageBuilder.interactionDefer(ephemeral: true))
                }
            }
            // Unreachable: the answer task always returns an answer.
            return (InteractionOutcome(texts: [], refused: false), deferred)
        }
        if let file = outcome.attachment {
            // The prompt view: summary and file, to the invoker alone.
            let payload = deferred
                ? DiscordMessageBuilder.editWithFile(content: Self.text(outcome, command), filename: file.filename)
                : DiscordMessageBuilder.interactionReply(content: Self.text(outcome, command), ephemeral: true, filename: file.filename)
            let (body, contentType) = DiscordMessageBuilder.multipart(payload: payload, file: file)
            if !deferred {
                await respond(callback, body: body, headers: [("Content-Type", contentType)])
            } else if let applicationID = state.withLock({ $0.applicationID }) {
                await respond(.editOriginalResponse(applicationID: applicationID, token: interaction.token), body: body,
                              headers: [("Content-Type", contentType)])
            }
            return
        }
        if !deferred {
            await respond(callback,
                          body: DiscordMessageBuilder.interactionReply(content: Self.text(outcome, command), ephemeral: Self.ephemeral(outcome, command)))
            return
        }
        guard let applicationID = state.withLock({ $0.applicationID }) else { return }
        await respond(.editOriginalResponse(applicationID: applicationID, token: interaction.token),
                      body: DiscordMessageBuilder.edit(content: Self.text(outcome, command)))
    }

    /// How long a command may take to be answered in the callback itself before it is deferred.
    static let immediateAnswerTime: Duration = .seconds(1)

    private static func text(_ outcome: InteractionOutcome, _ command: BridgeCommand) -> String {
        let text = outcome.texts.joined(separator: "\n")
        if !text.isEmpty { return String(text.prefix(2000)) }
        return command == .regenerate ? "Regenerated the last reply." : "Done."
    }

    /// Refusals and read-only answers are for the invoker only; accepted changes are shown to the channel.
    private static func ephemeral(_ outcome: InteractionOutcome, _ command: BridgeCommand) -> Bool {
        outcome.refused || !command.changesState
    }

    func respond(_ route: DiscordRoute, body: [UInt8], headers: [(String, String)] = []) async {
        do {
            _ = try await rest.request(route, body: body, headers: headers)
        } catch {
            logger.warning("discord interaction response failed", metadata: ["error": "\(error)"])
        }
    }
}

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
            let path = guildID.map { "/applications/\(applicationID)/guilds/\($0)/commands" } ?? "/applications/\(applicationID)/commands"
            do {
                _ = try await rest.request(.overwriteCommands(applicationID: applicationID, guildID: guildID), path: path,
                                           body: DiscordMessageBuilder.slashCommands)
                logger.info("discord slash commands registered", metadata: ["guild": "\(guildID ?? "global")"])
            } catch {
                logger.warning("discord slash command registration failed", metadata: ["guild": "\(guildID ?? "global")", "error": "\(error)"])
            }
        }
    }

    /// Answers a slash command within 3 s: at once when the command is quick, else deferred and edited in.
    func handleInteraction(_ interaction: DiscordInteraction) async {
        guard interaction.type == 2, let channelID = interaction.channelId else { return }
        let invoker = interaction.member?.user ?? interaction.user
        guard let invoker else { return }
        let user = ChatUser(id: invoker.id, displayName: invoker.globalName ?? invoker.username ?? invoker.id, isBot: invoker.bot == true)
        state.withLock { s in
            if let guild = interaction.guildId, let roles = interaction.member?.roles { s.memberRoles[guild + ":" + invoker.id] = roles }
            if let perms = interaction.member?.permissions {
                s.interactionPermissions[invoker.id + ":" + channelID] = (perms, clock.now)
            }
        }
        let channel = channelRef(channelID, guildID: interaction.guildId)
        let callback = DiscordRoute.interactionCallback(id: interaction.id, token: interaction.token)
        let callbackPath = "/interactions/\(interaction.id)/\(interaction.token)/callback"
        let command: BridgeCommand
        switch interaction.bridgeCommand {
        case .failure(let error):
            await respond(callback, path: callbackPath, body: DiscordMessageBuilder.interactionReply(content: error.message, ephemeral: true))
            return
        case .success(let parsed): command = parsed
        }
        guard let router = state.withLock({ $0.router }) else {
            await respond(callback, path: callbackPath,
                          body: DiscordMessageBuilder.interactionReply(content: "The bridge is still starting; try again in a moment.", ephemeral: true))
            return
        }
        let slow = command == .regenerate || command == .continueReply
        let platform: any ChatPlatform = self
        // The command runs exactly once. A quick answer goes straight into the callback; otherwise the
        // interaction is acknowledged (deferred) the moment the timer fires, well inside Discord's 3 s, while
        // the command runs on, and its answer is edited into the original response.
        enum Step: Sendable {
            case answered(InteractionOutcome)
            case timer
        }
        let (outcome, deferred) = await withTaskGroup(of: Step.self) { group -> (InteractionOutcome, Bool) in
            group.addTask { .answered(await router.runInteraction(command, by: user, in: channel, platform: platform)) }
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
                    await respond(callback, path: callbackPath, body: DiscordMessageBuilder.interactionDefer(ephemeral: true))
                }
            }
            // Unreachable: the command task always answers.
            return (InteractionOutcome(texts: [], refused: false), deferred)
        }
        if !deferred {
            await respond(callback, path: callbackPath,
                          body: DiscordMessageBuilder.interactionReply(content: Self.text(outcome, command), ephemeral: Self.ephemeral(outcome, command)))
            return
        }
        guard let applicationID = state.withLock({ $0.applicationID }) else { return }
        let route = DiscordRoute(method: "PATCH", template: "/webhooks/{application_id}/{interaction_token}/messages/@original",
                                 majorParameter: applicationID + "/" + interaction.token)
        await respond(route, path: "/webhooks/\(applicationID)/\(interaction.token)/messages/@original",
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

    private func respond(_ route: DiscordRoute, path: String, body: [UInt8]) async {
        do {
            _ = try await rest.request(route, path: path, body: body)
        } catch {
            logger.warning("discord interaction response failed", metadata: ["error": "\(error)"])
        }
    }
}

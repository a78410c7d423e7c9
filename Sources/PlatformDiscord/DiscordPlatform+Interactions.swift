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
        // Race the command against a 2 s timer so the 3 s answer deadline holds on a loaded machine.
        let early: InteractionOutcome?? = slow ? .some(nil) : await withTaskGroup(of: InteractionOutcome?.self) { group in
            group.addTask { await router.runInteraction(command, by: user, in: channel, platform: platform) }
            group.addTask { [clock] in
                try? await clock.sleep(until: clock.now + .seconds(2))
                return nil
            }
            let first = await group.next() ?? nil
            if first != nil {
                group.cancelAll()
                return .some(first)
            }
            return .none
        }
        if case .some(.some(let outcome)) = early {
            await respond(callback, path: callbackPath,
                          body: DiscordMessageBuilder.interactionReply(content: Self.text(outcome, command), ephemeral: Self.ephemeral(outcome, command)))
            return
        }
        await respond(callback, path: callbackPath, body: DiscordMessageBuilder.interactionDefer(ephemeral: true))
        let outcome = await router.runInteraction(command, by: user, in: channel, platform: platform)
        guard let applicationID = state.withLock({ $0.applicationID }) else { return }
        let route = DiscordRoute(method: "PATCH", template: "/webhooks/{application_id}/{interaction_token}/messages/@original",
                                 majorParameter: applicationID + "/" + interaction.token)
        await respond(route, path: "/webhooks/\(applicationID)/\(interaction.token)/messages/@original",
                      body: DiscordMessageBuilder.edit(content: Self.text(outcome, command)))
    }

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

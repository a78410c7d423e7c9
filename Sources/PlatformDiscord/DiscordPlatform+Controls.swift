import BridgeCore
import Foundation

extension DiscordPlatform: PlatformReplyControls {
    /// Sets or removes the bridge's buttons on a reply message (its text is left as it is).
    public func setControls(_ state: ReplyControlState?, on message: SentMessageRef) async throws {
        guard configuration.controls == .buttons else { return }
        let body = DiscordMessageBuilder.controls(state)
        switch message.kind(as: DiscordSentMessage.self) {
        case .webhook(let hook, let thread)?:
            _ = try await rest.request(.editWebhookMessage(id: hook.id, token: hook.token, messageID: message.messageID,
                                                           threadID: thread), body: body)
        default:
            _ = try await rest.request(.editMessage(channelID: message.channel.channelID, messageID: message.messageID),
                                       body: body)
            refreshBudget(message.channel)
        }
    }

    /// A button press: acknowledged at once (type 6, so the 3 s deadline can never pass), run once through the
    /// router; a refusal or an answer goes to the presser alone as an ephemeral follow-up.
    func handleComponent(_ interaction: DiscordInteraction) async {
        let callback = DiscordRoute.interactionCallback(id: interaction.id, token: interaction.token)
        await respond(callback, body: DiscordMessageBuilder.componentAcknowledgement)
        guard let channelID = interaction.channelId, let invoker = interaction.member?.user ?? interaction.user,
              let command = interaction.customID.flatMap(DiscordMessageBuilder.command(forButton:)) else {
            logger.debug("button press ignored", metadata: ["custom-id": "\(interaction.customID ?? "-")"])
            return
        }
        let user = ChatUser(id: invoker.id, displayName: invoker.globalName ?? invoker.username ?? invoker.id,
                            isBot: invoker.bot == true)
        state.withLock { s in
            if let guild = interaction.guildId, let roles = interaction.member?.roles { s.memberRoles[guild + ":" + invoker.id] = roles }
            if let perms = interaction.member?.permissions {
                s.interactionPermissions[invoker.id + ":" + channelID] = (perms, clock.now)
            }
        }
        let (answers, answer) = AsyncStream.makeStream(of: InteractionOutcome.self, bufferingPolicy: .bufferingNewest(1))
        let request = InteractionRequest(id: interaction.id, command: command, user: user,
                                         channel: channelRef(channelID, guildID: interaction.guildId),
                                         targetMessageID: interaction.messageID) { outcome in
            answer.yield(outcome)
            answer.finish()
        }
        guard await events.send(.interaction(request)) else { return }
        var outcome: InteractionOutcome?
        for await received in answers {
            outcome = received
            break
        }
        guard let outcome, !outcome.texts.isEmpty, let applicationID = state.withLock({ $0.applicationID }) else { return }
        await respond(.interactionFollowup(applicationID: applicationID, token: interaction.token),
                      body: DiscordMessageBuilder.followup(content: outcome.texts.joined(separator: "\n"), ephemeral: true))
    }
}

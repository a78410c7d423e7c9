import BridgeCore
import Foundation

extension DiscordPlatform: PlatformReplyControls {
    /// Buttons are shown unless the controls are reactions or off.
    public var showsReplyControls: Bool { configuration.controls == .buttons }

    /// Sets or removes the bridge's buttons on a reply message (its text is left as it is).
    public func setControls(_ state: ReplyControlState?, on message: SentMessageRef) async throws {
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
            if let guild = interaction.guildId, let roles = interaction.member?.roles { s.memberRoles[MemberKey(guild: guild, user: invoker.id)] = roles }
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

extension DiscordPlatform {
    /// A control reaction (🔁 ⏹ ◀ ▶ ➡) when `controls = "reactions"`: run through the router like a button press;
    /// the bot's own and other emoji are ignored. A refusal cannot be private here, so it is only logged.
    func handleReaction(_ reaction: DiscordReactionAdd) async {
        guard configuration.controls == .reactions, reaction.emoji.id == nil, let key = reaction.emoji.name,
              let command = BridgeCommand.replyControl(forReaction: key) else { return }
        let own = state.withLock { $0.botUserID == reaction.userId }
        guard !own else { return }
        let user = reaction.member?.user
        if let guild = reaction.guildId, let roles = reaction.member?.roles {
            state.withLock { $0.memberRoles[MemberKey(guild: guild, user: reaction.userId)] = roles }
        }
        let chatUser = ChatUser(id: reaction.userId, displayName: user?.globalName ?? user?.username ?? reaction.userId,
                                isBot: user?.bot == true || configuration.bots.contains(reaction.userId))
        let request = InteractionRequest(id: "reaction:\(reaction.messageId):\(reaction.userId):\(key)", command: command,
                                         user: chatUser, channel: channelRef(reaction.channelId, guildID: reaction.guildId),
                                         targetMessageID: reaction.messageId) { _ in }
        await events.send(.interaction(request))
    }
}

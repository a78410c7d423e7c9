import BridgeConfig
import Foundation
import Logging
import Storage

extension Router {
    /// The channel's group-scene settings: the configured ones, with the activation `scene activation` stored.
    func sceneSettings(for channel: ChannelRef, stored: ChannelSettings?) -> SceneSettings {
        var scene = configurationForReplies.binding(for: channel)?.sceneSettings ?? SceneSettings()
        if let stored = stored?.activation {
            let strategy = ActivationStrategy.parse(stored)
            scene.activation = strategy.isKnown ? strategy : nil
        }
        return scene
    }

    /// Whether the channel is a group scene: an activation strategy and more than one persona.
    func isScene(_ channel: ChannelRef, stored: ChannelSettings?) -> Bool {
        guard sceneSettings(for: channel, stored: stored).activation != nil else { return false }
        return activePersonas(in: channel, stored: stored).count > 1
    }

    /// A persona's talkativeness in a scene: 0 when its own trigger mode is `mention` (it speaks only when
    /// addressed), 1 when `always`; else its own `[trigger] talkativeness`, else the channel's, else 0.5.
    func sceneTalkativeness(_ persona: Persona, in channel: ChannelRef, stored: ChannelSettings?) -> Double {
        if persona.trigger.mode == .mentionOnly { return 0 }
        if persona.trigger.mode == .always { return 1 }
        return persona.trigger.talkativeness ?? stored?.talkativeness
            ?? configurationForReplies.binding(for: channel)?.trigger.talkativeness ?? SceneSettings.defaultTalkativeness
    }

    /// The scene's cooldown, bot-turn cap and bot handling: the channel's, without any one persona's overrides
    /// (`[defaults.trigger]`, then `[channels.trigger]`, then what moderators stored).
    func sceneTrigger(in channel: ChannelRef, stored: ChannelSettings?) -> TriggerSettings {
        var merged = configurationForReplies.trigger.applying(configurationForReplies.binding(for: channel)?.trigger ?? .init())
        if let stored {
            merged = merged.applying(TriggerOverrides(cooldownSeconds: stored.cooldownSeconds, maxBotTurns: stored.maxBotTurns,
                                                      respondToBots: stored.respondToBots))
        }
        return merged
    }

    /// Decides who of a scene answers `message` and returns the claimed chain, which speaks one persona after
    /// another, each seeing the replies before it.
    func sceneReply(to message: IncomingMessage, personas: [Persona], stored: ChannelSettings?, repliedPersona: String?,
                    platform: any PlatformSender, logger: Logger) async throws -> ReplyJob? {
        let channel = message.channel
        let key = Self.key(channel)
        let scene = sceneSettings(for: channel, stored: stored)
        guard let strategy = scene.activation, !personas.isEmpty else { return nil }
        let muted = Set(stored?.mutedPersonas ?? [])
        let members = personas.map { persona in
            SceneActivation.Member(name: persona.name, callNames: [persona.name, persona.displayName] + persona.aliases,
                                   talkativeness: sceneTalkativeness(persona, in: channel, stored: stored),
                                   muted: muted.contains(persona.name))
        }
        let trigger = sceneTrigger(in: channel, stored: stored)
        let rules = SceneActivation.Rules(strategy: strategy, allowSelfResponses: scene.allowSelfResponses,
                                          cooldownSeconds: trigger.cooldownSeconds, maxBotTurns: trigger.maxBotTurns,
                                          respondToBots: trigger.respondToBots)
        let view = TriggerPolicy.Message(channel: channel.key, text: message.text, fromBot: message.author.isBot,
                                         mentionsUs: message.mentionsUs, repliesToPersona: repliedPersona)
        let now = elapsedNow
        let outcome = activateScene(view, members: members, rules: rules, now: now)
        logger.debug("scene activation", metadata: ["message-id": "\(message.messageID)", "strategy": "\(strategy)",
                                                    "outcome": "\(outcome)"])
        let chain = outcome.turns.compactMap { turn in knownPersona(turn.persona) }
        guard !chain.isEmpty else { return nil }
        if isDraining {
            logger.info("not answering: shutting down", metadata: ["message-id": "\(message.messageID)"])
            return nil
        }
        guard try await storeForCommands.claimAnswer(channel: key, messageID: message.messageID) else {
            logger.info("already answered", metadata: ["message-id": "\(message.messageID)"])
            return nil
        }
        let scheduler = scheduler(for: channel, platform: platform)
        await replies.begin(channel.key)
        return ReplyJob(scheduler: scheduler) { [self] turn in
            let progress = ReplyProgress()
            // A chain holds the channel's turn from start to end: the chain for an earlier message finishes before
            // this one starts, so chains never interleave and each sees the replies of the ones before it.
            if let turn { await scheduler.waitForTurn(turn) }
            for (index, persona) in chain.enumerated() {
                if index > 0 && isDraining { break }
                do {
                    try await reply(as: persona, in: channel, to: message.messageID, platform: platform,
                                    requestedBy: message.speaker, progress: progress, cutAtTrigger: true, logger: logger)
                } catch {
                    logger.error("scene reply failed", metadata: ["persona": "\(persona.name)", "error": "\(error)"])
                }
            }
            await releaseUnanswered(key, message.messageID, progress: progress, logger: logger)
            await replies.end(channel.key)
            if let turn { await scheduler.passTurn(turn) }
        }
    }

    /// The group part of `speaking`'s prompt in `channel`: nil unless several personas are bound there.
    func groupPrompt(speaking: Persona, in channel: ChannelRef) async throws -> GroupPrompt? {
        let stored = try await effectiveSettings(for: channel)
        let members = activePersonas(in: channel, stored: stored)
        guard members.count > 1 else { return nil }
        let scene = sceneSettings(for: channel, stored: stored)
        let nudge = ContextAssembler.nudge(scene.groupNudge, speaker: speaking)
        let cards = scene.groupPrompt == .join ? members.map { expandingMacros($0, in: channel) } : []
        return GroupPrompt(mode: scene.groupPrompt, members: cards, nudge: nudge)
    }

    /// `scene`, `scene activation X`, `mute NAME`, `unmute NAME` and `next NAME`; the caller checked rights.
    func runSceneCommand(_ command: SceneCommand, author: ChatUser, in channel: ChannelRef, platform: any PlatformSender,
                         names: [String], logger: Logger, answer: @escaping @Sendable (String) async throws -> Void) async throws {
        let config = configurationForCommands
        let prefix = config.commandPrefix
        func member(_ name: String) async throws -> Persona? {
            guard let persona = config.persona(named: name) else {
                try await answer("No persona called \"\(name)\". Known: \(config.personas.keys.sorted().joined(separator: ", ")).")
                return nil
            }
            guard names.contains(persona.name) else {
                try await answer("\(persona.displayName) is not in this scene. Here: \(names.isEmpty ? "nobody" : names.joined(separator: ", ")).")
                return nil
            }
            return persona
        }
        func update(_ body: @escaping @Sendable (inout ChannelSettings) -> Void) async throws {
            try await updateSettings(in: channel, by: author.id, body)
        }
        switch command {
        case .show:
            let stored = try await effectiveSettings(for: channel)
            let scene = sceneSettings(for: channel, stored: stored)
            let muted = Set(stored?.mutedPersonas ?? [])
            let list = names.map { muted.contains($0) ? "\($0) (muted)" : $0 }
            var parts = ["activation \(scene.activation?.rawValue ?? "off (one persona answers)")",
                         "prompt \(scene.groupPrompt)", "personas: \(list.isEmpty ? "none" : list.joined(separator: ", "))"]
            if let last = lastSceneSpeaker(in: channel) { parts.append("last speaker \(last)") }
            try await answer("Scene — " + parts.joined(separator: " · "))
        case .activation(let strategy):
            let value = strategy?.rawValue ?? "off"
            try await update { $0.activation = value }
            if let strategy {
                let note = names.count > 1 ? "" : " (it takes effect once several personas are here: `\(prefix) persona add NAME`)"
                let how = switch strategy {
                case .list: "every persona answers each message, in order"
                case .pooled: "one persona answers each message, one that did not answer the last one"
                case .manual: "nobody answers until `\(prefix) next NAME`"
                default: "named personas answer, the others by their talkativeness"
                }
                try await answer("Scene activation is now \(strategy): \(how).\(note)")
            } else {
                try await answer("Scene activation is off: at most one persona answers each message.")
            }
        case .mute(let name):
            guard let persona = try await member(name) else { return }
            try await update { if !$0.mutedPersonas.contains(persona.name) { $0.mutedPersonas.append(persona.name) } }
            try await answer("\(persona.displayName) is muted here: no strategy picks them until `\(prefix) unmute \(persona.name)`.")
        case .unmute(let name):
            guard let persona = try await member(name) else { return }
            try await update { $0.mutedPersonas.removeAll { $0 == persona.name } }
            try await answer("\(persona.displayName) may speak here again.")
        case .start, .end:
            try await runSceneThreadCommand(command, author: author, in: channel, platform: platform, names: names, logger: logger,
                                            answer: answer)
        case .next(let name):
            guard let persona = try await member(name) else { return }
            if try await effectiveSettings(for: channel)?.mutedPersonas.contains(persona.name) == true {
                return try await answer("\(persona.displayName) is muted here; `\(prefix) unmute \(persona.name)` first.")
            }
            // The persona answers the scene as it stands: replies still streaming finish first.
            await replies.waitUntilIdle(channel.key)
            try await reply(as: persona, in: channel, to: nil, platform: platform, requestedBy: author, logger: logger)
        }
    }
}

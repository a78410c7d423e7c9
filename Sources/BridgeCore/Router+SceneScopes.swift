import BridgeConfig
import Foundation
import Logging
import Storage

/// Threads and direct messages as scenes: a thread takes its parent channel's settings until it has its own, and
/// a direct message is answered only by the platform's `dm_personas`, one at a time, per user.
extension Router {
    /// The settings that apply in `channel`: its own stored ones; a thread without any takes its parent's.
    func effectiveSettings(for channel: ChannelRef) async throws -> ChannelSettings? {
        if let own = try await cachedSettings(Self.key(channel)) { return own }
        guard let parent = channel.parent else { return nil }
        return try await cachedSettings(Self.key(parent))
    }

    /// Changes `channel`'s stored settings. A thread changing anything for the first time starts from what it
    /// inherited, so changing one setting does not drop the parent's personas or activation there.
    func updateSettings(in channel: ChannelRef, by userID: String, _ body: @escaping @Sendable (inout ChannelSettings) -> Void) async throws {
        let store = storeForCommands
        let key = Self.key(channel)
        defer { invalidateSettings(key) }
        var inherited: ChannelSettings?
        if let parent = channel.parent, try await store.channelSettings(for: key) == nil {
            inherited = try await store.channelSettings(for: Self.key(parent))
        }
        let start = inherited
        try await store.updateChannelSettings(for: key) { settings in
            // Only a thread that still has nothing of its own takes the parent's as its start.
            if let start, settings == ChannelSettings() { settings = start }
            body(&settings)
            settings.updatedBy = userID
            settings.updatedAt = Date()
        }
    }

    /// The one persona answering a direct message: the user's pick when it is still among `dm_personas`, else the
    /// first of them; none when the platform lists no `dm_personas` (or the user turned personas off).
    func directPersona(in channel: ChannelRef, stored settings: ChannelSettings?) -> String? {
        let allowed = configurationForCommands.directPersonas(on: channel.platform)
        guard !allowed.isEmpty, settings?.personaOff != true else { return nil }
        return settings?.personas?.first { allowed.contains($0) } ?? allowed[0]
    }

    /// Whether `command` is a direct message's own user picking the persona there (`persona set`), which needs no
    /// moderator: the DM is theirs alone, and `directRefusal` keeps the pick among `dm_personas`.
    func isDirectPick(_ command: BridgeCommand, by user: ChatUser, in channel: ChannelRef) -> Bool {
        guard channel.isDirect, !user.isBot, case .personaSet = command else { return false }
        return true
    }

    /// Why `command` cannot run in a direct message, or nil when it can. There the user picks among
    /// `dm_personas` with `persona set` without being a moderator; adding personas makes no sense with one
    /// listener, so it is refused.
    func directRefusal(_ command: BridgeCommand, in channel: ChannelRef) -> String? {
        guard channel.isDirect else { return nil }
        let config = configurationForCommands
        let allowed = config.directPersonas(on: channel.platform)
        switch command {
        case .personaSet(let name):
            if allowed.isEmpty { return "Personas do not take direct messages here." }
            guard let persona = config.persona(named: name), allowed.contains(persona.name) else {
                return "In direct messages you can talk to: \(allowed.joined(separator: ", ")). \"\(name)\" is not one of them."
            }
            return nil
        case .personaAdd, .personaRemove:
            return "A direct message has one persona: pick it with `\(config.commandPrefix) persona set NAME` (one of: "
                + "\(allowed.isEmpty ? "none here" : allowed.joined(separator: ", ")))."
        default:
            return nil
        }
    }

    /// `scene start TITLE [| PERSONA…]` and `scene end`; the caller checked that the author is a moderator.
    func runSceneThreadCommand(_ command: SceneCommand, author: ChatUser, in channel: ChannelRef, platform: any PlatformSender,
                               names: [String], logger: Logger, answer: @escaping @Sendable (String) async throws -> Void) async throws {
        let config = configurationForCommands
        let prefix = config.commandPrefix
        guard let threads = platform.adapter as? PlatformSceneThreads else {
            return try await answer("Scenes in threads are not supported on \(channel.platform): it has no threads. "
                + "Use a channel of its own for the scene.")
        }
        switch command {
        case .start(let title, let requested):
            if channel.isDirect { return try await answer("A scene thread opens from a server channel, not in a direct message.") }
            if channel.parent != nil { return try await answer("This is already a thread: start the scene from its channel.") }
            var cast: [Persona] = []
            for name in requested.isEmpty ? names : requested {
                guard let persona = config.persona(named: name) ?? knownPersona(name) else {
                    return try await answer("No persona called \"\(name)\". Known: \(config.personas.keys.sorted().joined(separator: ", ")). "
                        + "No thread was opened.")
                }
                if let refusal = await matureBindingRefusal(persona, in: channel, platform: platform) { return try await answer(refusal) }
                if !cast.contains(where: { $0.name == persona.name }) { cast.append(persona) }
            }
            guard !cast.isEmpty else {
                return try await answer("No persona answers here, so the scene would be silent: `\(prefix) scene start \(title) | NAME…`.")
            }
            let thread: ChannelRef
            do {
                thread = try await threads.openThread(titled: title, from: channel)
            } catch {
                logger.warning("could not open a scene thread", metadata: ["error": "\(error)"])
                return try await answer("Could not open a thread for \"\(title)\": \(error). Nothing was changed.")
            }
            let castNames = cast.map(\.name)
            // The thread starts with the channel's settings (activation, trigger), its cast as asked.
            try await updateSettings(in: thread, by: author.id) { settings in
                settings.personas = castNames
                settings.personaOff = false
                settings.mutedPersonas.removeAll { !castNames.contains($0) }
            }
            logger.info("scene thread opened", metadata: ["thread": "\(thread.key)", "personas": "\(castNames.joined(separator: ","))"])
            try await answer("Scene \"\(title)\" opened in its own thread with \(cast.map(\.displayName).joined(separator: ", ")). "
                + "`\(prefix) scene end` there closes it.")
            if let first = cast.first {
                try await postGreeting(first, in: thread, platform: platform, user: author, group: cast.count > 1, logger: logger)
            }
        case .end:
            guard channel.parent != nil else {
                return try await answer("`\(prefix) scene end` closes a scene's thread: use it inside the thread.")
            }
            let persona = names.first.flatMap { knownPersona($0) }
            let summaries: Int?
            do {
                summaries = try await summarizeRemainder(of: channel, persona: persona, logger: logger)
            } catch let error as MemoryRemainderError {
                // Archiving now would close the scene without its summary: keep it open to try again.
                return try await answer("The scene stays open: \(error). Try `\(prefix) scene end` again in a moment.")
            }
            let kept = switch summaries {
            case nil: "Memory is off, so no summary was kept."
            case 0?: "Its memory already holds everything."
            case let n?: "Its memory keeps \(n == 1 ? "a summary" : "\(n) summaries") of the rest (`\(prefix) memory show`)."
            }
            // Said before archiving: a locked thread takes no more messages from the bridge. A slash command's
            // answer is sent when the command returns, so the closing waits for it.
            try await answer("The scene is over: archiving and locking this thread. " + kept)
            let deferred = Self.afterAnswer != nil
            await whenAnswered {
                do {
                    try await threads.closeThread(channel)
                    logger.info("scene thread closed", metadata: ["thread": "\(channel.key)"])
                } catch {
                    logger.warning("could not archive a scene thread", metadata: ["error": "\(error)"])
                    let notice = "Could not archive the thread: \(error). Its summary is kept."
                    // After a slash command's answer the only way left to tell is the (still open) thread itself.
                    if !deferred { try? await answer(notice) } else {
                        _ = try? await platform.send(notice, in: channel, replyTo: nil, as: nil)
                    }
                }
            }
        default:
            return
        }
    }
}

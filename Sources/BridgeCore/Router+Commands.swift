import BridgeConfig
import Foundation
import Logging
import Storage

extension Router {
    /// Runs a parsed chat command; changes need a moderator (asked of the platform) or a configured admin.
    func runCommand(_ parsed: Result<BridgeCommand, BridgeCommand.ParseError>, message: IncomingMessage,
                    platform: any PlatformSender) async throws {
        let channel = message.channel
        let id = message.messageID
        var parsed = parsed
        // `persona import` reads the card attached to the command's message.
        if case .success(.personaImport(nil)) = parsed, let card = message.attachments.first { parsed = .success(.personaImport(card)) }
        try await runCommand(parsed, author: message.author, in: channel, platform: platform) { text in
            _ = try await platform.send(text, in: channel, replyTo: id, as: nil)
        }
    }

    /// Runs a parsed command for `author`; `answer` delivers each text response (a channel reply, or an interaction).
    func runCommand(_ parsed: Result<BridgeCommand, BridgeCommand.ParseError>, author: ChatUser, in channel: ChannelRef,
                    platform: any PlatformSender, answer: @escaping @Sendable (String) async throws -> Void) async throws {
        // Another process on the same database may have imported personas since.
        await refreshImportedPersonas(logger: commandLogger)
        let config = configurationForCommands
        let store = storeForCommands
        let key = Self.key(channel)
        var logger = commandLogger
        logger[metadataKey: "platform"] = "\(channel.platform)"
        logger[metadataKey: "channel"] = "\(channel.key)"
        // Interactions come here without passing the router's intake: history they read must be committed.
        await flushHistory()
        let command: BridgeCommand
        switch parsed {
        case .failure(let error): return try await answer(error.message)
        case .success(let c): command = c
        }
        if let refusal = directRefusal(command, in: channel) { return try await answer(refusal) }
        if command.needsModerator && !isDirectPick(command, by: author, in: channel) {
            // Only a human moderator or admin: a bot holding a moderator role still may not change settings.
            let allowed = author.isBot ? false : config.isAdmin(author, on: channel.platform)
                ? true : await platform.isModerator(author, in: channel)
            guard allowed else {
                logger.info("command refused", metadata: ["user": "\(author.id)", "command": "\(command)"])
                return try await answer("Sorry \(author.displayName), only moderators or bridge admins can do that here. Nothing was changed.")
            }
        }
        func currentNames() async throws -> [String] {
            let settings = try await effectiveSettings(for: channel)
            if channel.isDirect { return directPersona(in: channel, stored: settings).map { [$0] } ?? [] }
            if settings?.personaOff == true { return [] }
            return settings?.personas ?? config.binding(for: channel)?.personas ?? config.defaultPersonas
        }
        func update(_ body: @escaping @Sendable (inout ChannelSettings) -> Void) async throws {
            try await updateSettings(in: channel, by: author.id, body)
        }
        func resolve(_ name: String) async throws -> Persona? {
            guard let persona = config.persona(named: name) else {
                try await answer("No persona called \"\(name)\". Known: \(config.personas.keys.sorted().joined(separator: ", ")).")
                return nil
            }
            return persona
        }

        switch command {
        case .help:
            try await answer(BridgeCommand.help(prefix: config.commandPrefix))
        case .personaList:
            let list = config.personas.values.sorted { $0.name < $1.name }.map { "\($0.name) (\($0.displayName))" }
            try await answer(list.isEmpty ? "No personas are configured." : "Personas: " + list.joined(separator: ", "))
        case .personaShow:
            let names = try await currentNames()
            try await answer(names.isEmpty ? "No persona answers in this channel." : "Here: " + names.joined(separator: ", "))
        case .personaSet(let name):
            guard let persona = try await resolve(name) else { return }
            if let refusal = await matureBindingRefusal(persona, in: channel, platform: platform) { return try await answer(refusal) }
            try await update { $0.personas = [persona.name]; $0.personaOff = false }
            try await answer("\(persona.displayName) now answers here.")
            try await postGreeting(persona, in: channel, platform: platform, user: author, logger: logger)
        case .personaAdd(let name):
            guard let persona = try await resolve(name) else { return }
            if let refusal = await matureBindingRefusal(persona, in: channel, platform: platform) { return try await answer(refusal) }
            var names = try await currentNames()
            if !names.contains(persona.name) { names.append(persona.name) }
            let final = names
            try await update { $0.personas = final; $0.personaOff = false }
            try await answer("Here: " + final.joined(separator: ", "))
            try await postGreeting(persona, in: channel, platform: platform, user: author, group: final.count > 1, logger: logger)
        case .personaRemove(let name):
            guard let persona = try await resolve(name) else { return }
            let names = try await currentNames().filter { $0 != persona.name }
            try await update { $0.personas = names; $0.personaOff = names.isEmpty }
            try await answer(names.isEmpty ? "No persona answers here now." : "Here: " + names.joined(separator: ", "))
        case .personaOff:
            try await update { $0.personaOff = true }
            try await answer("Personas are off in this channel; messages are still recorded.")
        case .reset:
            let removed = try await store.resetHistory(in: key)
            resetChannelState(channel)
            try await answer("Forgot this channel's history (\(removed) messages).")
        case .forget(let n):
            let removed = try await store.forgetLast(n, in: key)
            resetChannelState(channel)
            try await answer("Forgot the last \(removed) messages.")
        case .talkativeness(let x):
            // 0 means "only when addressed"; anything above lets personas volunteer with that probability.
            try await update { $0.talkativeness = x; $0.triggerMode = x == 0 ? TriggerMode.mentionOnly.rawValue : TriggerMode.probability.rawValue }
            try await answer("Talkativeness is now \(x).")
        case .status:
            let names = try await currentNames()
            let count = try await store.messageCount(in: key)
            let settings = try await effectiveSettings(for: channel)
            var parts = ["personas: \(names.isEmpty ? "off" : names.joined(separator: ", "))", "\(count) messages stored"]
            if let t = settings?.talkativeness { parts.append("talkativeness \(t)") }
            if let mode = settings?.triggerMode { parts.append("mode \(mode)") }
            parts.append(String(format: "token estimate scale %.2f", promptScale))
            try await answer("Status — " + parts.joined(separator: " · "))
        case .budget:
            try await answer(try await budgetReport(for: channel))
        case .lore(let command):
            let personas = try await currentNames().compactMap { config.personas[$0] }
            try await runLoreCommand(command, personas: personas, in: channel, answer: answer)
        case .memory(let command):
            try await runMemoryCommand(command, author: author, in: channel, answer: answer)
        case .me(let player):
            try await runPlayerCommand(player, author: author, in: channel, answer: answer)
        case .personaImport(let attachment):
            try await importPersona(attachment, by: author, in: channel, platform: platform, logger: logger, answer: answer)
        case .scene(let command):
            try await runSceneCommand(command, author: author, in: channel, platform: platform, names: try await currentNames(),
                                      logger: logger, answer: answer)
        case .regenerate, .continueReply, .stop, .previousAlternative, .nextAlternative, .why:
            try await runControl(command, author: author, in: channel, platform: platform, replyTo: nil, answer: answer)
        }
    }
}

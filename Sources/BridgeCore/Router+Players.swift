import Foundation
import Logging
import Storage

/// The players of a prompt: history with their messages named by their characters, and what `user_system` says
/// about each.
struct PlayerCast: Sendable {
    /// History in order, a player's messages under their character's name.
    var history: [HistoryEntry]
    /// Description by the name shown in history (players' characters, and the older per-user texts).
    var userPersonas: [String: String]
    /// The user the reply answers, under their character's name (for `{{user}}`), if any.
    var speaker: ChatUser?
}

extension Router {
    /// `me set|show|clear`: a player's own character, for this scene or the whole platform.
    func runPlayerCommand(_ command: PlayerCommand, author: ChatUser, in channel: ChannelRef,
                          answer: @escaping @Sendable (String) async throws -> Void) async throws {
        let store = storeForCommands
        let scene = Self.key(channel)
        guard !author.isBot else { return try await answer("Bots do not play characters here.") }
        switch command {
        case .set(let name, let description, let everywhere):
            // A player posing as one of the bridge's characters would put words in its mouth in the prompt.
            let lower = name.lowercased()
            if let taken = configurationForCommands.personas.values.first(where: { persona in
                ([persona.name, persona.displayName] + persona.aliases).contains { $0.lowercased() == lower }
            }) {
                return try await answer("\(name) is the name of the persona \(taken.displayName); pick another name for your character.")
            }
            let persona = PlayerPersona(name: name, description: description)
            try await store.setPlayerPersona(persona, platform: channel.platform, userID: author.id,
                                             scene: everywhere ? nil : scene)
            guard everywhere else { return try await answer("\(author.displayName) now plays \(name) in this scene.") }
            // A scene's own character still wins there; say so rather than let the player wonder.
            let local = try await store.playerPersona(platform: channel.platform, userID: author.id, scene: scene)
            try await answer("\(author.displayName) now plays \(name) everywhere on \(channel.platform)"
                             + (local.map { " (this scene keeps \($0.name); `\(configurationForCommands.commandPrefix) me clear` drops it)" } ?? "")
                             + ".")
        case .clear(let everywhere):
            let existing = try await store.playerPersona(platform: channel.platform, userID: author.id, scene: everywhere ? nil : scene)
            guard let existing else {
                return try await answer(everywhere ? "You have no character set for all of \(channel.platform)."
                                                   : "You have no character set for this scene.")
            }
            try await store.setPlayerPersona(nil, platform: channel.platform, userID: author.id, scene: everywhere ? nil : scene)
            let fallback = everywhere ? nil : try await store.playerPersona(platform: channel.platform, userID: author.id, scene: nil)
            try await answer("\(author.displayName) no longer plays \(existing.name) " + (everywhere ? "everywhere on \(channel.platform)" : "here")
                             + (fallback.map { "; here you play \($0.name) again (set for all of \(channel.platform))" } ?? "") + ".")
        case .show:
            let local = try await store.playerPersona(platform: channel.platform, userID: author.id, scene: scene)
            let global = try await store.playerPersona(platform: channel.platform, userID: author.id, scene: nil)
            var lines: [String] = []
            if let local { lines.append("Here you play \(local.name): \(local.description)") }
            if let global {
                lines.append((local == nil ? "Here and everywhere on \(channel.platform)" : "Elsewhere on \(channel.platform)")
                             + " you play \(global.name): \(global.description)")
            }
            if lines.isEmpty {
                lines.append("You play yourself (\(author.displayName)). Set a character with "
                             + "`\(configurationForCommands.commandPrefix) me set NAME: description`.")
            }
            try await answer(lines.joined(separator: "\n"))
        }
    }

    /// The history with every player's messages under their character's name (this scene's, else the platform's),
    /// their descriptions for `user_system`, and the speaker for `{{user}}`. Players without a character keep
    /// their display name and any older per-user text.
    func playerCast(_ stored: [StoredMessage], in channel: ChannelRef, speaker: ChatUser?) async throws -> PlayerCast {
        let store = storeForCommands
        var humans: [(id: String, name: String)] = []
        var seen = Set<String>()
        for message in stored where message.kind == .human && seen.insert(message.speakerID).inserted {
            humans.append((message.speakerID, message.speakerName))
        }
        var ids = humans.map(\.id)
        if let speaker, !seen.contains(speaker.id) { ids.append(speaker.id) }
        let players = try await store.playerPersonas(in: Self.key(channel), userIDs: ids)
        var userPersonas: [String: String] = [:]
        for human in humans {
            if let player = players[human.id] {
                userPersonas[player.name] = player.description
            } else if let text = try await store.userPersona(platform: channel.platform, userID: human.id) {
                userPersonas[human.name] = text
            }
        }
        let history = stored.map { message -> HistoryEntry in
            var entry = Self.entry(message)
            if message.kind == .human, let player = players[message.speakerID] {
                entry.speaker = .human(id: message.speakerID, name: player.name)
            }
            return entry
        }
        var named = speaker
        if let id = speaker?.id, let player = players[id] { named?.displayName = player.name }
        return PlayerCast(history: history, userPersonas: userPersonas, speaker: named)
    }
}

import BridgeConfig
import Foundation
import Logging
import Storage

extension Router {
    /// A persona by id: configured first, then imported from chat.
    func knownPersona(_ name: String) -> Persona? {
        configurationForReplies.personas[name] ?? lore.state.withLock { $0.imported[name] }
    }

    /// The configuration with the personas imported from chat added (configured ones win a name clash).
    func withImported(_ configuration: RouterConfiguration) -> RouterConfiguration {
        let imported = lore.state.withLock { $0.imported }
        guard !imported.isEmpty else { return configuration }
        var merged = configuration
        for (name, persona) in imported where merged.personas[name] == nil { merged.personas[name] = persona }
        return merged
    }

    /// How `persona` appears on platforms: its avatar URL, or an imported card's image where it has none.
    func identity(for persona: Persona) -> PersonaIdentity {
        var identity = PersonaIdentity(name: persona.name, displayName: persona.displayName, avatarURL: persona.avatarURL)
        if persona.avatarURL == nil { identity.avatarImage = lore.state.withLock { $0.importedImages[persona.name] } }
        return identity
    }

    /// A lorebook by name: imported with a persona, else from the configuration.
    func lorebook(named name: String) -> Lorebook? {
        lore.state.withLock { $0.importedBooks[name] } ?? configurationForReplies.lorebooks[name]
    }

    /// Reads the personas imported from chat (at start, and when a name is not known here: another process on the
    /// same database may have imported it). A record that no longer decodes is skipped with a warning.
    func refreshImportedPersonas(logger: Logger) async {
        let records: [ImportedPersonaRecord]
        do {
            records = try await storeForCommands.importedPersonas()
        } catch {
            logger.warning("could not read imported personas", metadata: ["error": "\(error)"])
            return
        }
        var personas: [String: Persona] = [:]
        var books: [String: Lorebook] = [:]
        var images: [String: [UInt8]] = [:]
        for record in records {
            guard let persona = try? JSONDecoder().decode(Persona.self, from: Data(record.personaJSON.utf8)) else {
                logger.warning("imported persona does not decode; skipped", metadata: ["persona": "\(record.name)"])
                continue
            }
            personas[record.name] = persona
            if let json = record.lorebookJSON, let book = try? Lorebook.decode(json: Data(json.utf8)).book {
                books[record.name] = book
            }
            if let image = record.imageBase64.flatMap({ Data(base64Encoded: $0) }) { images[record.name] = [UInt8](image) }
        }
        lore.state.withLock { s in
            s.imported = personas
            s.importedBooks = books
            s.importedImages = images
        }
    }

    /// Re-reads imported personas when a channel is bound to a name this process does not know (another process
    /// on the same database imported it), at most every `unknownRefreshInterval`, so a stale name costs little.
    func refreshIfUnknown(_ names: [String], logger: Logger) async {
        guard names.contains(where: { knownPersona($0) == nil }) else { return }
        let now = elapsedNow
        let due = lore.state.withLock { s -> Bool in
            if let last = s.lastUnknownRefresh, now - last < Self.unknownRefreshInterval { return false }
            s.lastUnknownRefresh = now
            return true
        }
        if due { await refreshImportedPersonas(logger: logger) }
    }

    /// How often an unknown bound persona name may trigger a store read.
    static let unknownRefreshInterval: Duration = .seconds(10)

    static func switchesKey(_ channel: ChannelRef) -> String { "lore.switches.\(channel.key)" }

    /// The channel's `lore attach` / `lore off` switches, read from the store once per process.
    func loreSwitches(_ channel: ChannelRef) async throws -> RouterLore.Switches {
        if let cached = lore.state.withLock({ $0.switches[channel.key] }) { return cached }
        var switches = RouterLore.Switches()
        if let text = try await storeForCommands.state(for: Self.switchesKey(channel)),
           let decoded = try? JSONDecoder().decode(RouterLore.Switches.self, from: Data(text.utf8)) {
            switches = decoded
        }
        lore.state.withLock { $0.switches[channel.key] = switches }
        return switches
    }

    func saveLoreSwitches(_ switches: RouterLore.Switches, in channel: ChannelRef) async throws {
        let text = String(decoding: try JSONEncoder().encode(switches), as: UTF8.self)
        try await storeForCommands.setState(text, for: Self.switchesKey(channel))
        lore.state.withLock { s in
            s.switches[channel.key] = switches
            // Rebuilt with the new switches at the next reply.
            s.scenes[channel.key] = nil
        }
    }

    /// The books of a scene in order: each persona's own book (named like the persona), the server's books
    /// (`[[servers]]`), the channel's configured books, then books attached by command; each once, and only books
    /// that exist.
    func loreBookNames(personas: [Persona], in channel: ChannelRef, switches: RouterLore.Switches) -> [String] {
        var names: [String] = []
        let configuration = configurationForReplies
        let candidates = personas.map(\.name) + configuration.serverLorebooks(for: channel)
            + (configuration.binding(for: channel)?.lorebooks ?? []) + switches.attached
        for name in candidates where !names.contains(name) && lorebook(named: name) != nil { names.append(name) }
        return names
    }

    /// Runs the scene's lorebooks over `history` for a reply by `persona`; nil when the scene has no books.
    /// Fired entries have their macros expanded.
    func activateLore(for persona: Persona, in channel: ChannelRef, history: [HistoryEntry],
                      user: ChatUser?) async throws -> LorebookActivation? {
        let switches = try await loreSwitches(channel)
        let names = loreBookNames(personas: [persona], in: channel, switches: switches)
        guard !names.isEmpty else {
            lore.state.withLock { s in
                s.scenes[channel.key]?[persona.name] = nil
                s.lastWhy[channel.key] = []
            }
            return nil
        }
        // Timers count messages in the whole chat, not only in the loaded window.
        let messageCount = try await storeForCommands.messageCount(in: Self.key(channel))
        let books = names.compactMap { name in lorebook(named: name).map { (name: name, book: $0) } }
        var activation = lore.state.withLock { s -> LorebookActivation in
            var scene = s.scenes[channel.key]?[persona.name]
            if scene?.names != names {
                var fresh = SceneLore(books: books, seed: Self.seed(channel.key))
                for name in switches.off { fresh.setEnabled(name, false) }
                scene = RouterLore.Scene(names: names, lore: fresh)
            }
            let activation = scene!.lore.activate(history: history, messageCount: messageCount)
            s.scenes[channel.key, default: [:]][persona.name] = scene
            s.lastWhy[channel.key] = scene!.lore.last
            return activation
        }
        let context = macroContext(persona: persona, channel: channel, user: user)
        var generator = SystemRandomNumberGenerator()
        for index in activation.fired.indices where activation.fired[index].content.contains("{{") {
            activation.fired[index].content = CardMacros.expand(activation.fired[index].content, context: context, using: &generator)
        }
        return activation
    }

    func macroContext(persona: Persona, channel: ChannelRef, user: ChatUser?) -> CardMacroContext {
        CardMacroContext(char: persona.displayName, user: user?.displayName ?? "the user", chatID: channel.key, now: Date())
    }

    /// The persona with card macros in its text expanded. `{{user}}` in the character and examples stays one
    /// stable name ("the user", as `persona import` writes it), so the system prefix does not change with each speaker and the prompt cache holds.
    /// The post-history instructions come after the newest message, so there `{{user}}` is `speaker` when given
    /// (the speaking player's character name).
    func expandingMacros(_ persona: Persona, in channel: ChannelRef, speaker: String? = nil) -> Persona {
        let texts = [persona.character, persona.postHistory ?? ""] + persona.examples.flatMap { [$0.user, $0.ai] }
        guard texts.contains(where: { $0.contains("{{") }) else { return persona }
        let context = macroContext(persona: persona, channel: channel, user: nil)
        // `{{pick}}` is seeded by the chat; `{{random}}` in a character would change the prefix every reply,
        // so the prefix uses a generator seeded by the chat too.
        var generator = SeededGenerator(seed: Self.seed(channel.key))
        var expanded = persona
        expanded.character = CardMacros.expand(persona.character, context: context, using: &generator)
        var afterHistory = context
        if let speaker { afterHistory.user = speaker }
        expanded.postHistory = persona.postHistory.map { CardMacros.expand($0, context: afterHistory, using: &generator) }
        expanded.examples = persona.examples.map {
            PersonaExample(user: CardMacros.expand($0.user, context: context, using: &generator),
                           ai: CardMacros.expand($0.ai, context: context, using: &generator))
        }
        return expanded
    }

    /// FNV-1a of a channel key: a stable per-chat seed.
    static func seed(_ key: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in key.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return hash
    }

    /// `!pb lore …` for the channel whose active personas are `personas`.
    func runLoreCommand(_ command: LoreCommand, personas: [Persona], in channel: ChannelRef,
                        answer: @escaping @Sendable (String) async throws -> Void) async throws {
        var switches = try await loreSwitches(channel)
        let names = loreBookNames(personas: personas, in: channel, switches: switches)
        switch command {
        case .list:
            guard !names.isEmpty else {
                return try await answer("No lorebooks here. Attach one with `\(configurationForReplies.commandPrefix) lore attach NAME`"
                                        + (availableBooks().isEmpty ? "." : " (available: \(availableBooks().joined(separator: ", "))).")) }
            let lines = names.map { name -> String in
                let count = lorebook(named: name)?.entries.count ?? 0
                return "\(name): \(switches.off.contains(name) ? "off" : "on"), \(count) entr\(count == 1 ? "y" : "ies")"
            }
            try await answer("Lorebooks here — " + lines.joined(separator: " · "))
        case .show(let query):
            for name in names {
                guard let book = lorebook(named: name) else { continue }
                let lower = query.lowercased()
                let found = book.entries.enumerated().first { index, entry in
                    entry.label.lowercased() == lower || "\(name)/\(entry.label)".lowercased() == lower
                        || String(index) == query || entry.keys.contains { $0.lowercased() == lower }
                }
                guard let (index, entry) = found else { continue }
                var parts = ["\(name)/\(entry.label) (entry \(index))"]
                parts.append(entry.constant ? "constant" : "keys: " + entry.keys.joined(separator: ", "))
                if entry.selective && !entry.secondaryKeys.isEmpty {
                    parts.append("secondary (\(entry.selectiveLogic)): " + entry.secondaryKeys.joined(separator: ", "))
                }
                parts.append("position \(entry.position)\(entry.position == .atDepth ? " depth \(entry.depth ?? 4)" : "")")
                if !entry.enabled { parts.append("disabled") }
                let text = entry.content.count > 1_500 ? String(entry.content.prefix(1_500)) + "…" : entry.content
                return try await answer(parts.joined(separator: " · ") + "\n" + text)
            }
            try await answer("No lore entry \"\(query)\" in this channel's books (\(names.isEmpty ? "none" : names.joined(separator: ", "))).")
        case .setEnabled(let name, let enabled):
            guard names.contains(name) else {
                return try await answer("No lorebook \"\(name)\" here. Here: \(names.isEmpty ? "none" : names.joined(separator: ", ")).")
            }
            switches.off.removeAll { $0 == name }
            if !enabled { switches.off.append(name) }
            try await saveLoreSwitches(switches, in: channel)
            try await answer("Lorebook \(name) is \(enabled ? "on" : "off") in this channel.")
        case .attach(let name):
            guard lorebook(named: name) != nil else {
                let available = availableBooks()
                return try await answer("No lorebook called \"\(name)\". Available: \(available.isEmpty ? "none" : available.joined(separator: ", ")).")
            }
            if !switches.attached.contains(name) { switches.attached.append(name) }
            try await saveLoreSwitches(switches, in: channel)
            try await answer("Lorebook \(name) is attached to this channel.")
        case .detach(let name):
            guard switches.attached.contains(name) else {
                return try await answer("\"\(name)\" was not attached with `lore attach` here; books from the configuration or a persona stay (use `lore off \(name)`).")
            }
            switches.attached.removeAll { $0 == name }
            try await saveLoreSwitches(switches, in: channel)
            try await answer("Lorebook \(name) is detached from this channel.")
        case .why:
            let last = lore.state.withLock { $0.lastWhy[channel.key] }
            guard let last else { return try await answer("No reply here has used lore yet.") }
            guard !last.isEmpty else { return try await answer("No lore entries fired for the last reply.") }
            try await answer("Lore for the last reply — " + last.map { "\($0.book)/\($0.entry): \($0.reason)" }.joined(separator: " · "))
        }
    }

    /// Every lorebook known to this process, configured and imported.
    func availableBooks() -> [String] {
        Set(configurationForReplies.lorebooks.keys).union(lore.state.withLock { $0.importedBooks.keys }).sorted()
    }
}

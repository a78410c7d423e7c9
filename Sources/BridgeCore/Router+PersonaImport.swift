import BridgeConfig
import Foundation
import Logging
import Storage

extension Router {
    /// `persona import` from chat: downloads the attached card (through the platform, within the size limit),
    /// imports it, stores the persona and its lorebook, binds it here and posts its greeting. A card that cannot
    /// be fetched or read gets a reply naming the problem, and nothing changes.
    func importPersona(_ attachment: ChatAttachment?, by author: ChatUser, in channel: ChannelRef,
                       platform: any PlatformSender, logger: Logger,
                       answer: @escaping @Sendable (String) async throws -> Void) async throws {
        let prefix = configurationForReplies.commandPrefix
        guard let attachment else {
            return try await answer("Attach a character card (PNG, JSON or CHARX, up to 8 MiB) to `\(prefix) persona import`. Nothing was changed.")
        }
        let limit = CharacterCardImporter.maxFileBytes
        if let size = attachment.size, size > limit {
            return try await answer("\(attachment.filename) is \(size) bytes; cards may be at most \(limit) bytes (8 MiB). Nothing was changed.")
        }
        let bytes: [UInt8]
        do {
            bytes = try await platform.download(attachment, maxBytes: limit)
        } catch let error as AttachmentDownloadError {
            logger.info("card download refused", metadata: ["file": "\(attachment.filename)", "error": "\(error.message)"])
            return try await answer("Could not fetch \(attachment.filename): \(error.message). Nothing was changed.")
        } catch {
            logger.warning("card download failed", metadata: ["file": "\(attachment.filename)", "error": "\(error)"])
            return try await answer("Could not fetch \(attachment.filename): \(error). Nothing was changed.")
        }
        let card: ImportedCharacterCard
        do {
            card = try CharacterCardImporter.importCard(Data(bytes))
        } catch {
            logger.info("card refused", metadata: ["file": "\(attachment.filename)", "error": "\(error.message)"])
            return try await answer("\(attachment.filename) is not a usable character card: \(error.message). Nothing was changed.")
        }
        var persona = card.outputFiles().persona
        persona.sourcePath = nil
        if configurationForReplies.personas[persona.name] != nil {
            return try await answer("A configured persona is already called \"\(persona.name)\"; the card was not imported. Nothing was changed.")
        }
        var book = card.lorebook
        if book != nil && book?.name == nil { book?.name = persona.displayName }
        let record = ImportedPersonaRecord(
            name: persona.name, personaJSON: String(decoding: try JSONEncoder().encode(persona), as: UTF8.self),
            lorebookJSON: book.map { String(decoding: $0.lorebookV3JSON().jsonData(), as: UTF8.self) },
            imageBase64: card.image?.base64EncodedString(), importedBy: author.id)
        let store = storeForCommands
        try await store.saveImportedPersona(record)
        lore.state.withLock { s in
            s.imported[persona.name] = persona
            s.importedBooks[persona.name] = book
            s.importedImages[persona.name] = card.image.map { [UInt8]($0) }
            s.scenes[channel.key] = nil
        }
        let key = Self.key(channel)
        let name = persona.name
        let by = author.id
        defer { invalidateSettings(key) }
        try await store.updateChannelSettings(for: key) { settings in
            settings.personas = [name]
            settings.personaOff = false
            settings.updatedBy = by
            settings.updatedAt = Date()
        }
        logger.info("persona imported", metadata: ["persona": "\(name)", "format": "\(card.format)", "container": "\(card.container)",
                                                   "lore-entries": "\(book?.entries.count ?? 0)", "user": "\(author.id)"])
        var parts = ["Imported \(persona.displayName) (\(card.format.rawValue), \(card.container.rawValue)) as \"\(name)\""]
        if let book { parts.append("lorebook: \(book.entries.count) entr\(book.entries.count == 1 ? "y" : "ies")") }
        if !card.mapped.isEmpty { parts.append("mapped: " + card.mapped.prefix(12).joined(separator: ", ")) }
        if !card.dropped.isEmpty {
            parts.append("dropped: " + card.dropped.prefix(8).map { "\($0.field) (\($0.reason))" }.joined(separator: "; "))
        }
        try await answer(parts.joined(separator: " · ") + ". \(persona.displayName) now answers here.")
        try await postGreeting(persona, in: channel, platform: platform, user: author, logger: logger)
    }

    /// The greeting for a scene: a group-only greeting when several personas share it, a random alternate when
    /// `greeting = "random"`, else the greeting; nil when there is none.
    static func greeting(of persona: Persona, group: Bool, using generator: inout some RandomNumberGenerator) -> String? {
        if group, let text = persona.groupGreetings.randomElement(using: &generator) { return text }
        if persona.greeting == "random" { return persona.alternateGreetings.randomElement(using: &generator) }
        return persona.greeting
    }

    /// Posts `persona`'s greeting in `channel` once (remembered in the store), as the persona, and records it in
    /// history so the next prompt sees it.
    func postGreeting(_ persona: Persona, in channel: ChannelRef, platform: any PlatformSender, user: ChatUser?,
                      group: Bool = false, logger: Logger) async throws {
        var random = SystemRandomNumberGenerator()
        guard let greeting = Self.greeting(of: persona, group: group, using: &random), !greeting.isEmpty else { return }
        let store = storeForCommands
        let mark = "greeted.\(channel.key).\(persona.name)"
        guard try await store.state(for: mark) == nil else { return }
        var generator = SystemRandomNumberGenerator()
        let text = CardMacros.expand(greeting, context: macroContext(persona: persona, channel: channel, user: user), using: &generator)
        let identity = self.identity(for: persona)
        let sent = try await platform.send(text, in: channel, replyTo: nil, as: identity)
        try await store.setState(ISO8601Timestamp.string(from: Date()), for: mark)
        try await store.insert(StoredMessage(
            channel: Self.key(channel), messageID: sent.messageID, speakerID: "persona:\(persona.name)",
            speakerName: persona.displayName, kind: .persona, personaName: persona.name, text: text, timestamp: Date()))
        logger.info("greeting posted", metadata: ["persona": "\(persona.name)"])
    }
}

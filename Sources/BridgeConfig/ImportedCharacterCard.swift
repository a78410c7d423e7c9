import Foundation

/// A character card read from any container, with its lorebook, image, and a report of what was mapped and dropped.
public struct ImportedCharacterCard: Sendable {
    /// The file kind the card came in.
    public enum Container: String, Sendable {
        /// Plain JSON.
        case json
        /// PNG with a `ccv3` or `chara` tEXt chunk.
        case png
        /// CHARX zip with `card.json`.
        case charx
    }

    /// A card field that did not make it into the persona, and why.
    public struct Dropped: Hashable, Sendable {
        /// The card field.
        public var field: String
        /// Why.
        public var reason: String
    }

    /// The persona.
    public var persona: Persona
    /// The card format.
    public var format: CharacterCardImporter.Format
    /// The container.
    public var container: Container
    /// The card's embedded lorebook (`character_book`), if any.
    public var lorebook: Lorebook?
    /// The card's image as PNG bytes (the PNG card itself, or the CHARX icon when it is a PNG).
    public var image: Data?
    /// What each used card field became (`description → character`).
    public var mapped: [String]
    /// Fields left out.
    public var dropped: [Dropped]
}

extension ImportedCharacterCard {
    /// The persona renamed to `name` (an id is made from it) when given, and the files `persona import` writes:
    /// `N.toml`, `N.lore.json` when the card has a lorebook, `N.png` when it has an image.
    public func outputFiles(name: String? = nil) -> (persona: Persona, files: [(fileName: String, data: Data)]) {
        var persona = persona
        if let name, !name.trimmingCharacters(in: .whitespaces).isEmpty {
            persona.name = CharacterCardImporter.identifier(for: name)
        }
        var files: [(fileName: String, data: Data)] = [("\(persona.name).toml", Data(persona.tomlText().utf8))]
        if let lorebook {
            var book = lorebook
            if book.name == nil { book.name = persona.displayName }
            files.append(("\(persona.name).lore.json", book.lorebookV3JSON().jsonData()))
        }
        if let image { files.append(("\(persona.name).png", image)) }
        return (persona, files)
    }
}

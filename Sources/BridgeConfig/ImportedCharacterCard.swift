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

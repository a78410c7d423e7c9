import Foundation

/// The character a player plays (`!pb me set NAME: description`): the name their messages carry in the prompt and
/// the description shown in `user_system`.
public struct PlayerPersona: Hashable, Sendable {
    /// The character's name (already sanitised by whoever stores it).
    public var name: String
    /// Who the character is, at most `PlayerPersona.maximumDescriptionLength` characters.
    public var description: String
    /// When it was set.
    public var updatedAt: Date

    /// Creates a player persona.
    public init(name: String, description: String, updatedAt: Date = Date()) {
        self.name = name
        self.description = description
        self.updatedAt = updatedAt
    }

    /// Longest description accepted, in characters.
    public static let maximumDescriptionLength = 2_000
}

import Foundation

/// A persona imported from chat (`persona import` with a character card), as stored: it survives restarts and is
/// shared by every process on one PostgreSQL database. The store keeps the encoded persona opaque.
public struct ImportedPersonaRecord: Hashable, Sendable {
    /// Persona id (unique; a new import of the same name replaces the old one).
    public var name: String
    /// The persona, JSON-encoded by the caller.
    public var personaJSON: String
    /// Its lorebook as `lorebook_v3` JSON, if the card had one.
    public var lorebookJSON: String?
    /// The card image (PNG), base64, if any; kept for avatars.
    public var imageBase64: String?
    /// Who imported it (platform user id).
    public var importedBy: String
    /// When.
    public var importedAt: Date

    /// Creates a record.
    public init(name: String, personaJSON: String, lorebookJSON: String? = nil, imageBase64: String? = nil,
                importedBy: String, importedAt: Date = Date()) {
        self.name = name
        self.personaJSON = personaJSON
        self.lorebookJSON = lorebookJSON
        self.imageBase64 = imageBase64
        self.importedBy = importedBy
        self.importedAt = importedAt
    }
}

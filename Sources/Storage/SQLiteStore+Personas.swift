import Foundation
import GRDB

extension SQLiteStore {
    /// Every imported persona, by name.
    public func importedPersonas() async throws -> [ImportedPersonaRecord] {
        try await read("reading imported personas") { db in
            try Row.fetchAll(db, sql: """
                SELECT name, persona_json, lorebook_json, image_base64, imported_by, imported_at
                FROM imported_persona ORDER BY name
                """).map { row in
                ImportedPersonaRecord(name: row[0], personaJSON: row[1], lorebookJSON: row[2], imageBase64: row[3],
                                      importedBy: row[4], importedAt: Date(storageMilliseconds: row[5]))
            }
        }
    }

    /// Stores an imported persona, replacing one of the same name.
    public func saveImportedPersona(_ record: ImportedPersonaRecord) async throws {
        try await durableWrite("storing imported persona \(record.name)") { db in
            try db.execute(sql: """
                INSERT INTO imported_persona (name, persona_json, lorebook_json, image_base64, imported_by, imported_at)
                VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT (name) DO UPDATE SET persona_json = excluded.persona_json,
                    lorebook_json = excluded.lorebook_json, image_base64 = excluded.image_base64,
                    imported_by = excluded.imported_by, imported_at = excluded.imported_at
                """, arguments: [record.name, record.personaJSON, record.lorebookJSON, record.imageBase64,
                                 record.importedBy, record.importedAt.storageMilliseconds])
        }
    }

    /// Removes an imported persona; false when there was none.
    @discardableResult
    public func removeImportedPersona(name: String) async throws -> Bool {
        try await write("removing imported persona \(name)") { db in
            try db.execute(sql: "DELETE FROM imported_persona WHERE name = ?", arguments: [name])
            return db.changesCount > 0
        }
    }
}

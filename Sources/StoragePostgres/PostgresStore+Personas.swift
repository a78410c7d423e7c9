import Foundation
import Storage
internal import PostgresNIO

extension PostgresStore {
    /// Every imported persona, by name.
    public func importedPersonas() async throws -> [ImportedPersonaRecord] {
        try await withConnection("reading imported personas") { connection in
            var records: [ImportedPersonaRecord] = []
            let rows = try await connection.query("""
                SELECT name, persona_json, lorebook_json, image_base64, imported_by, imported_at
                FROM imported_persona ORDER BY name
                """, logger: Self.quietLogger)
            for try await (name, persona, lorebook, image, by, at) in rows.decode((String, String, String?, String?, String, Int64).self) {
                records.append(ImportedPersonaRecord(name: name, personaJSON: persona, lorebookJSON: lorebook, imageBase64: image,
                                                     importedBy: by, importedAt: Date(storageMilliseconds: at)))
            }
            return records
        }
    }

    /// Stores an imported persona, replacing one of the same name.
    public func saveImportedPersona(_ record: ImportedPersonaRecord) async throws {
        let at = record.importedAt.storageMilliseconds
        try await withConnection("storing imported persona \(record.name)") { connection in
            try await connection.query("""
                INSERT INTO imported_persona (name, persona_json, lorebook_json, image_base64, imported_by, imported_at)
                VALUES (\(record.name), \(record.personaJSON), \(record.lorebookJSON), \(record.imageBase64),
                        \(record.importedBy), \(at))
                ON CONFLICT (name) DO UPDATE SET persona_json = excluded.persona_json,
                    lorebook_json = excluded.lorebook_json, image_base64 = excluded.image_base64,
                    imported_by = excluded.imported_by, imported_at = excluded.imported_at
                """, logger: Self.quietLogger).drain()
        }
    }

    /// Removes an imported persona; false when there was none.
    @discardableResult
    public func removeImportedPersona(name: String) async throws -> Bool {
        try await withConnection("removing imported persona \(name)") { connection in
            (try await connection.query("""
                WITH gone AS (DELETE FROM imported_persona WHERE name = \(name) RETURNING 1) SELECT count(*) FROM gone
                """, logger: Self.quietLogger).decodeFirst(Int.self) ?? 0) > 0
        }
    }
}

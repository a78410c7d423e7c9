import Foundation
import Storage
import Testing

extension StoreConformanceTests {
    @Test("imported personas are stored, listed by name, replaced by a new import and removed", arguments: StoreBackend.all)
    func importedPersonas(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store in
            #expect(try await store.importedPersonas().isEmpty)
            let moss = ImportedPersonaRecord(name: "moss", personaJSON: #"{"name":"moss"}"#, lorebookJSON: #"{"spec":"lorebook_v3"}"#,
                                             imageBase64: "iVBORw0KGgo=", importedBy: "u1", importedAt: at(1_000))
            let rhea = ImportedPersonaRecord(name: "captain-rhea", personaJSON: #"{"name":"captain-rhea"}"#, importedBy: "u2",
                                             importedAt: at(2_000))
            try await store.saveImportedPersona(moss)
            try await store.saveImportedPersona(rhea)
            #expect(try await store.importedPersonas() == [rhea, moss])

            var newer = moss
            newer.personaJSON = #"{"name":"moss","v":2}"#
            newer.lorebookJSON = nil
            newer.importedAt = at(3_000)
            try await store.saveImportedPersona(newer)
            #expect(try await store.importedPersonas() == [rhea, newer])

            #expect(try await store.removeImportedPersona(name: "moss"))
            #expect(try await !store.removeImportedPersona(name: "moss"))
            #expect(try await store.importedPersonas() == [rhea])
        }
    }
}

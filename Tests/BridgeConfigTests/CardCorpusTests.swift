import BridgeConfig
import Foundation
import PBTestSupport
import Testing

private let corpus = RepoPaths.root.appendingPathComponent("Tests/Corpus")

private func corpusFile(_ path: String) throws -> Data {
    let url = corpus.appendingPathComponent(path)
    guard let data = FileManager.default.contents(atPath: url.path) else {
        throw TestServerError("missing corpus file \(url.path); run python3 Tests/Corpus/make_corpus.py")
    }
    return data
}

/// A well-formed card in the corpus and what it must import as.
struct GoodCard: Sendable, CustomTestStringConvertible {
    var file: String
    var name: String
    var format: CharacterCardImporter.Format
    var container: ImportedCharacterCard.Container
    var lorebookEntries: Int?
    var hasImage: Bool
    var testDescription: String { file }
}

/// A malformed card and the error it must give.
struct BadCard: Sendable, CustomTestStringConvertible {
    var file: String
    var code: CharacterCardError.Code
    var message: String
    var testDescription: String { file }
}

@Suite("Character card corpus")
struct CardCorpusTests {
    @Test("every container kind and version imports", arguments: [
        GoodCard(file: "v1.json", name: "old-tom", format: .cardV1, container: .json, lorebookEntries: nil, hasImage: false),
        GoodCard(file: "v2.json", name: "captain-rhea", format: .cardV2, container: .json, lorebookEntries: 3, hasImage: false),
        GoodCard(file: "v3.json", name: "moss", format: .cardV3, container: .json, lorebookEntries: 3, hasImage: false),
        GoodCard(file: "v3-newer-version.json", name: "moss", format: .cardV3, container: .json, lorebookEntries: 3, hasImage: false),
        GoodCard(file: "eliza.json", name: "nova", format: .eliza, container: .json, lorebookEntries: nil, hasImage: false),
        GoodCard(file: "v2.png", name: "captain-rhea", format: .cardV2, container: .png, lorebookEntries: 3, hasImage: true),
        GoodCard(file: "v3-and-v2.png", name: "moss", format: .cardV3, container: .png, lorebookEntries: 3, hasImage: true),
        GoodCard(file: "v3.charx", name: "moss", format: .cardV3, container: .charx, lorebookEntries: 3, hasImage: true),
        GoodCard(file: "v3-stored.charx", name: "moss", format: .cardV3, container: .charx, lorebookEntries: 3, hasImage: true),
    ])
    func good(_ card: GoodCard) throws {
        let imported = try CharacterCardImporter.importCard(try corpusFile("cards/" + card.file))
        #expect(imported.persona.name == card.name)
        #expect(imported.format == card.format)
        #expect(imported.container == card.container)
        #expect(imported.lorebook?.entries.count == card.lorebookEntries)
        #expect((imported.image != nil) == card.hasImage)
        if let image = imported.image { #expect(image.starts(with: [0x89, 0x50, 0x4E, 0x47])) }
        #expect(!imported.mapped.isEmpty)
    }

    @Test("malformed cards get a typed error naming the problem", arguments: [
        BadCard(file: "malformed/not-json.json", code: .invalidJSON, message: "not a JSON object"),
        BadCard(file: "malformed/no-name.json", code: .missingField, message: "no name"),
        BadCard(file: "malformed/no-data.json", code: .missingField, message: "no 'data' object"),
        BadCard(file: "malformed/not-a-card.json", code: .unknownFormat, message: "not a Character Card"),
        BadCard(file: "malformed/bad-lorebook.json", code: .invalidLorebook, message: "entry 0 has no 'content'"),
        BadCard(file: "malformed/no-card.png", code: .unknownFormat, message: "no 'ccv3' or 'chara'"),
        BadCard(file: "malformed/truncated.png", code: .invalidJSON, message: "truncated"),
        BadCard(file: "malformed/bad-base64.png", code: .invalidJSON, message: "not valid base64"),
        BadCard(file: "malformed/no-card-json.charx", code: .unknownFormat, message: "no card.json"),
        BadCard(file: "malformed/truncated.charx", code: .invalidArchive, message: "end-of-directory"),
        BadCard(file: "malformed/bad-crc.charx", code: .invalidArchive, message: "CRC-32"),
    ])
    func bad(_ card: BadCard) throws {
        let data = try corpusFile("cards/" + card.file)
        do {
            let imported = try CharacterCardImporter.importCard(data)
            Issue.record("\(card.file) imported as \(imported.persona.name)")
        } catch {
            #expect(error.code == card.code, "\(card.file): \(error.message)")
            #expect(error.message.contains(card.message), "\(card.file): \(error.message)")
        }
    }

    @Test("the V2 card reports what it mapped and what it dropped, with reasons")
    func report() throws {
        let imported = try CharacterCardImporter.importCard(try corpusFile("cards/v2.json"))
        #expect(imported.mapped.contains("mes_example → [[examples]] (3 of 4 pairs)"))
        #expect(imported.mapped.contains("character_book → lorebook (N.lore.json)"))
        let dropped = Dictionary(uniqueKeysWithValues: imported.dropped.map { ($0.field, $0.reason) })
        // Deliver 1: extra examples, alternate greetings and post-history instructions are kept, not dropped.
        #expect(dropped["mes_example"] == nil && dropped["alternate_greetings"] == nil && dropped["post_history_instructions"] == nil)
        #expect(imported.mapped.contains("mes_example → [[examples_extra]] (1 pairs beyond the first 3, kept but not sent)"))
        #expect(imported.mapped.contains("alternate_greetings → alternate_greetings"))
        #expect(imported.mapped.contains("post_history_instructions → post_history (after the history)"))
        #expect(imported.persona.examplesExtra.count == 1 && imported.persona.alternateGreetings.count == 1)
        #expect(imported.persona.postHistory != nil)
        #expect(dropped["extensions"] != nil && dropped["tags"] == "card metadata")
        let newer = try CharacterCardImporter.importCard(try corpusFile("cards/v3-newer-version.json"))
        #expect(newer.mapped.contains { $0.hasPrefix("spec_version 3.5") })
    }

    @Test("an oversized file is refused before parsing")
    func tooLarge() {
        let big = Data(repeating: 0x20, count: CharacterCardImporter.maxFileBytes + 1)
        #expect(throws: CharacterCardError.self) { try CharacterCardImporter.importCard(big) }
        let json = Data("{\"name\": \"x\", \"description\": \"".utf8) + Data(repeating: 0x61, count: 2 << 20) + Data("\"}".utf8)
        do {
            _ = try CharacterCardImporter.importCard(json)
            Issue.record("a 2 MiB+ JSON card was accepted")
        } catch {
            #expect(error.code == .tooLarge)
        }
    }

    @Test("the 40-entry lorebook and the world info file decode; a message naming keys fires them")
    func lorebooks() throws {
        let (book, format) = try Lorebook.decode(json: try corpusFile("lorebooks/harbour-town.lorebook.json"))
        #expect(format == .lorebookV3)
        #expect(book.entries.count == 40)
        #expect(LorebookActivator(book: book).problems().isEmpty)
        var generator = SeededGenerator(seed: 3)
        let result = LorebookActivator(book: book).activate(chat: ["we walk from the harbour to the market"], using: &generator)
        #expect(result.fired.map(\.uid) == ["0", "2", "30"])
        let (world, worldFormat) = try Lorebook.decode(json: try corpusFile("lorebooks/coast.worldinfo.json"))
        #expect(worldFormat == .sillyTavern && world.entries.count == 2)
        let bad = try Lorebook.decode(json: try corpusFile("lorebooks/malformed/bad-regex.lorebook.json")).book
        #expect(LorebookActivator(book: bad).problems().count == 2)
        #expect(throws: LorebookError.self) { try Lorebook.decode(json: try corpusFile("lorebooks/malformed/no-entries.json")) }
    }
}

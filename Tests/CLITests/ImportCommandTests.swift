import Foundation
import PBTestSupport
import Testing

@Suite struct ImportCommandTests {
    let cards = RepoPaths.root.appendingPathComponent("Tests/Corpus/cards")
    let lorebooks = RepoPaths.root.appendingPathComponent("Tests/Corpus/lorebooks")

    @Test func personaImportWritesTomlLorebookAndImageAndReports() async throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("pb-import-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: out) }
        let (code, output) = try await CLI.run([
            "persona", "import", cards.appendingPathComponent("v3-and-v2.png").path,
            cards.appendingPathComponent("v2.json").path, "--out", out.path,
        ])
        #expect(code == 0, "output: \(output)")
        for name in ["moss.toml", "moss.lore.json", "moss.png", "captain-rhea.toml", "captain-rhea.lore.json"] {
            #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent(name).path), "\(name); output: \(output)")
        }
        #expect(!FileManager.default.fileExists(atPath: out.appendingPathComponent("captain-rhea.png").path))
        #expect(output.contains("imported Moss (cardV3 in png)"))
        #expect(output.contains("mapped: first_mes → greeting"))
        #expect(output.contains("mapped: alternate_greetings → alternate_greetings"))
        #expect(output.contains("dropped: creator_notes (notes for people, not for the model)"))

        // A second run refuses to overwrite, and a malformed card writes nothing.
        let (again, againOutput) = try await CLI.run(["persona", "import", cards.appendingPathComponent("v2.json").path, "--out", out.path])
        #expect(again != 0 && againOutput.contains("exists; pass --force"), "output: \(againOutput)")
        let fresh = out.appendingPathComponent("fresh")
        let (bad, badOutput) = try await CLI.run([
            "persona", "import", cards.appendingPathComponent("v1.json").path,
            cards.appendingPathComponent("malformed/bad-crc.charx").path, "--out", fresh.path,
        ])
        #expect(bad != 0 && badOutput.contains("CRC-32") && badOutput.contains("nothing was written"), "output: \(badOutput)")
        #expect(!FileManager.default.fileExists(atPath: fresh.path))
    }

    @Test func loreImportWritesLorebookV3() async throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("pb-lore-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: out) }
        let (code, output) = try await CLI.run(["lore", "import", lorebooks.appendingPathComponent("coast.worldinfo.json").path,
                                                "--out", out.path])
        #expect(code == 0, "output: \(output)")
        let written = out.appendingPathComponent("coast-worldinfo.lore.json")
        let text = try String(contentsOf: written, encoding: .utf8)
        #expect(text.contains("\"spec\" : \"lorebook_v3\"") || text.contains("\"spec\": \"lorebook_v3\""), "\(text.prefix(200))")
        #expect(output.contains("sillyTavern, 2 entries"), "output: \(output)")
        let (fromCard, cardOutput) = try await CLI.run(["lore", "import", cards.appendingPathComponent("v3.charx").path,
                                                        "--name", "greenhouse", "--out", out.path])
        #expect(fromCard == 0 && cardOutput.contains("3 entries"), "output: \(cardOutput)")
        #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent("greenhouse.lore.json").path))
    }
}

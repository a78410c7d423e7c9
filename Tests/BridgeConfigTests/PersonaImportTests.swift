import BridgeConfig
import Foundation
import PBTestSupport
import Testing

@Suite("Persona import files")
struct PersonaImportTests {
    @Test("import round-trips: the written TOML loads as the same persona and the written lorebook as the same book",
          arguments: ["v1.json", "v2.json", "v3.json", "eliza.json", "v2.png", "v3-and-v2.png", "v3.charx", "v3-stored.charx"])
    func roundTrip(file: String) throws {
        let url = RepoPaths.root.appendingPathComponent("Tests/Corpus/cards/" + file)
        let data = try #require(FileManager.default.contents(atPath: url.path), "missing corpus file \(url.path)")
        let card = try CharacterCardImporter.importCard(data)
        let directory = try TempConfigDirectory()
        defer { directory.remove() }
        let (persona, files) = card.outputFiles(name: file == "v2.json" ? "Harbour Rhea" : nil)
        var written: [String: String] = [:]
        for output in files {
            let path = (directory.path as NSString).appendingPathComponent("personas/" + output.fileName)
            try output.data.write(to: URL(fileURLWithPath: path))
            written[(output.fileName as NSString).pathExtension] = path
        }
        let loaded = ConfigLoader(environment: [:]).loadPersona(path: try #require(written["toml"]))
        #expect(loaded.diagnostics.isEmpty, "\(loaded.diagnostics)")
        var reloaded = try #require(loaded.persona)
        reloaded.sourcePath = nil
        #expect(reloaded == persona)
        if file == "v2.json" { #expect(persona.name == "harbour-rhea") }
        if let book = card.lorebook {
            let lorePath = try #require(files.first { $0.fileName.hasSuffix(".lore.json") }).fileName
            let text = try #require(FileManager.default.contents(atPath: directory.path + "/personas/" + lorePath))
            var expected = book
            if expected.name == nil { expected.name = persona.displayName }
            #expect(try Lorebook.decode(json: text).book == expected)
        } else {
            #expect(!files.contains { $0.fileName.hasSuffix(".lore.json") })
        }
        #expect(files.contains { $0.fileName.hasSuffix(".png") } == (card.image != nil))
    }

    @Test("check reports lorebooks beside the personas with file, entry and key")
    func checkLorebooks() throws {
        let directory = try TempConfigDirectory()
        defer { directory.remove() }
        try directory.write("personas/alice.toml", TempConfigDirectory.persona("alice"))
        let bad = RepoPaths.root.appendingPathComponent("Tests/Corpus/lorebooks/malformed/bad-regex.lorebook.json")
        let badText = try String(contentsOf: bad, encoding: .utf8)
        let lorePath = try directory.write("personas/alice.lore.json", badText)
        try directory.write("personas/broken.lore.json", "{\"entries\": 3}")
        let config = try directory.write("bridge.toml", """
            [model]
            provider = "openrouter"
            [platforms.console]
            [[channels]]
            platform = "console"
            channel = "demo"
            personas = ["alice"]
            """)
        let result = ConfigLoader(environment: ["OPENROUTER_API_KEY": "k"]).load(configPath: config)
        let lore = result.diagnostics.filter { $0.file.hasSuffix(".lore.json") }
        #expect(lore.contains {
            $0.file == lorePath && $0.severity == .warning && $0.keyPath == "entries[0].keys[0]"
                && $0.message.contains("key \"/[unclosed/\"") && $0.message.contains("invalid regular expression")
        }, "\(lore)")
        #expect(lore.contains { $0.keyPath == "entries[1].keys" && $0.message.contains("never fires") }, "\(lore)")
        #expect(lore.contains { $0.file.hasSuffix("broken.lore.json") && $0.severity == .error
            && $0.message.contains("not a usable lorebook") }, "\(lore)")
    }
}

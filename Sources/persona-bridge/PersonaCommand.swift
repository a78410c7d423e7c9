import ArgumentParser
import BridgeConfig
import Foundation

/// `persona-bridge persona …`: persona files.
struct PersonaCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "persona", abstract: "Work with persona files.", subcommands: [PersonaImportCommand.self])
}

/// `persona-bridge persona import FILE… [--name N] [--out DIR]`: character cards to persona files.
struct PersonaImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import Character Card V1/V2/V3 (JSON, PNG, CHARX) or elizaOS files as DIR/N.toml, N.lore.json and N.png.",
        discussion: "Prints what each card field became and what was dropped and why. Nothing is written unless every card imports.")

    @Argument(help: "Card files: .json, .png (ccv3 preferred over chara), .charx.")
    var files: [String]

    @Option(help: "Persona name (id) for a single imported card; default: made from the card's name.")
    var name: String?

    @Option(help: "Directory to write into (default: the current directory).")
    var out: String = "."

    @Flag(help: "Overwrite existing files.")
    var force = false

    func validate() throws {
        if name != nil && files.count != 1 { throw ValidationError("--name needs exactly one FILE") }
    }

    func run() throws {
        var plans: [(source: String, card: ImportedCharacterCard, persona: Persona, files: [(fileName: String, data: Data)])] = []
        for file in files {
            let data = try CardFiles.read(file)
            let card: ImportedCharacterCard
            do {
                card = try CharacterCardImporter.importCard(data)
            } catch {
                throw ImportFailure("\(file): \(error.message); nothing was written")
            }
            let (persona, outputs) = card.outputFiles(name: name)
            plans.append((file, card, persona, outputs))
        }
        let names = plans.map(\.persona.name)
        if let duplicate = names.first(where: { name in names.filter { $0 == name }.count > 1 }) {
            throw ImportFailure("two cards import as '\(duplicate)'; import them one at a time with --name; nothing was written")
        }
        let writes = plans.flatMap { plan in plan.files.map { ((out as NSString).appendingPathComponent($0.fileName), $0.data) } }
        try CardFiles.write(writes, force: force)
        for plan in plans {
            let card = plan.card
            print("imported \(plan.persona.displayName) (\(card.format.rawValue) in \(card.container.rawValue)) from \(plan.source)")
            print("  wrote " + plan.files.map { (out as NSString).appendingPathComponent($0.fileName) }.joined(separator: ", "))
            for line in card.mapped { print("  mapped: \(line)") }
            for dropped in card.dropped { print("  dropped: \(dropped.field) (\(dropped.reason))") }
            if let book = card.lorebook {
                print("  lorebook: \(book.entries.count) entr\(book.entries.count == 1 ? "y" : "ies")")
                for problem in LorebookActivator(book: book).problems() { print("  warning: lorebook \(problem)") }
            }
        }
    }
}

/// `persona-bridge lore …`: lorebooks.
struct LoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lore", abstract: "Work with lorebooks (world info).", subcommands: [LoreImportCommand.self])
}

/// `persona-bridge lore import FILE [--out DIR]`: a standalone lorebook, world info, or a card's book to DIR/N.lore.json.
struct LoreImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import a lorebook_v3 file, SillyTavern world info, or the lorebook of a card (JSON, PNG, CHARX) as DIR/N.lore.json.")

    @Argument(help: "The lorebook or card file.")
    var file: String

    @Option(help: "Lorebook name (file stem); default: the book's name, else the file's.")
    var name: String?

    @Option(help: "Directory to write into (default: the current directory).")
    var out: String = "."

    @Flag(help: "Overwrite an existing file.")
    var force = false

    func run() throws {
        let data = try CardFiles.read(file)
        var book: Lorebook
        var format: String
        if data.starts(with: [0x89, 0x50, 0x4E, 0x47]) || data.starts(with: [0x50, 0x4B]) {
            do {
                guard let embedded = try CharacterCardImporter.importCard(data).lorebook else {
                    throw ImportFailure("\(file): the card has no lorebook; nothing was written")
                }
                book = embedded
                format = "card"
            } catch let error as CharacterCardError {
                throw ImportFailure("\(file): \(error.message); nothing was written")
            }
        } else {
            do {
                let decoded = try Lorebook.decode(json: data)
                (book, format) = (decoded.book, decoded.format.rawValue)
            } catch {
                throw ImportFailure("\(file): \(error.message); nothing was written")
            }
        }
        let stem = ((file as NSString).lastPathComponent as NSString).deletingPathExtension
        let id = CharacterCardImporter.identifier(for: name ?? book.name ?? stem.replacingOccurrences(of: ".lore", with: ""))
        if book.name == nil { book.name = name ?? stem }
        let path = (out as NSString).appendingPathComponent("\(id).lore.json")
        try CardFiles.write([(path, book.lorebookV3JSON().jsonData())], force: force)
        print("imported lorebook \(book.name ?? id) (\(format), \(book.entries.count) entries) from \(file)")
        print("  wrote \(path)")
        for problem in LorebookActivator(book: book).problems() { print("  warning: \(problem)") }
    }
}

/// File reading and all-or-nothing writing shared by the import commands.
enum CardFiles {
    /// Reads a card or lorebook file, refusing anything over the card size limit before reading it.
    static func read(_ path: String) throws -> Data {
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? nil
        guard let size else { throw ImportFailure("cannot read \(path)") }
        guard size <= CharacterCardImporter.maxFileBytes else {
            throw ImportFailure("\(path) is \(size) bytes; the limit is 8 MiB; nothing was written")
        }
        guard let data = FileManager.default.contents(atPath: path) else { throw ImportFailure("cannot read \(path)") }
        return data
    }

    /// Writes every file, or none: existing files are refused without `force`, checked before the first write.
    static func write(_ files: [(path: String, data: Data)], force: Bool) throws {
        if !force, let existing = files.first(where: { FileManager.default.fileExists(atPath: $0.path) }) {
            throw ImportFailure("\(existing.path) exists; pass --force to overwrite; nothing was written")
        }
        for directory in Set(files.map { ($0.path as NSString).deletingLastPathComponent }) where !directory.isEmpty {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        for file in files {
            do {
                try file.data.write(to: URL(fileURLWithPath: file.path), options: .atomic)
            } catch {
                throw ImportFailure("cannot write \(file.path): \(error.localizedDescription)")
            }
        }
    }
}

/// An import that failed on its input: printed as `Error: …` without the usage text, exit code 1.
struct ImportFailure: Error, CustomStringConvertible {
    /// What went wrong, naming the file.
    let description: String
    /// Creates a failure.
    init(_ description: String) { self.description = description }
}

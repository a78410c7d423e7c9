import Foundation

extension CharacterCardError.Code {
    /// A PNG, CHARX or JSON file is larger than allowed.
    public static let tooLarge = Self(rawCode: "tooLarge")
    /// The CHARX zip is damaged or unsupported.
    public static let invalidArchive = Self(rawCode: "invalidArchive")
    /// The card's embedded lorebook is malformed.
    public static let invalidLorebook = Self(rawCode: "invalidLorebook")
}

extension CharacterCardImporter {
    /// Largest card file accepted (PNG or CHARX), and largest image kept.
    public static let maxFileBytes = 8 << 20
    /// Largest card JSON accepted.
    public static let maxJSONBytes = 2 << 20

    /// Reads a card from JSON, PNG (`ccv3` preferred over `chara`) or CHARX, sniffed from its first bytes.
    public static func importCard(_ data: Data) throws(CharacterCardError) -> ImportedCharacterCard {
        guard data.count <= maxFileBytes else {
            throw CharacterCardError(code: .tooLarge, message: "the card file is \(data.count) bytes; the limit is \(maxFileBytes) (8 MiB)")
        }
        let head = [UInt8](data.prefix(8))
        let json: Data
        let container: ImportedCharacterCard.Container
        var image: Data?
        if head == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] {
            json = try cardJSON(png: data)
            container = .png
            image = data
        } else if head.starts(with: [0x50, 0x4B, 0x03, 0x04]) || head.starts(with: [0x50, 0x4B, 0x05, 0x06]) {
            (json, image) = try charx(data)
            container = .charx
        } else {
            json = data
            container = .json
        }
        guard json.count <= maxJSONBytes else {
            throw CharacterCardError(code: .tooLarge, message: "the card JSON is \(json.count) bytes; the limit is \(maxJSONBytes) (2 MiB)")
        }
        let (persona, format) = try importPersona(json: json)
        let root = JSONValue.parse(json)?.object ?? [:]
        var lorebook: Lorebook?
        if format == .cardV2 || format == .cardV3, let book = root["data"]?.object?["character_book"], book != .null {
            guard let object = book.object else {
                throw CharacterCardError(code: .invalidLorebook, message: "the card's character_book is not an object")
            }
            do {
                lorebook = try Lorebook.characterBook(object)
            } catch {
                throw CharacterCardError(code: .invalidLorebook, message: "the card's character_book: \(error.message)")
            }
        }
        let fields = format == .cardV2 || format == .cardV3 ? root["data"]?.object ?? [:] : root
        let (mapped, dropped) = report(fields: fields, format: format, persona: persona, root: root)
        return ImportedCharacterCard(persona: persona, format: format, container: container, lorebook: lorebook,
                                     image: image, mapped: mapped, dropped: dropped)
    }

    /// The card JSON inside a PNG: the base64 text of the `ccv3` tEXt chunk, else of `chara`.
    static func cardJSON(png: Data) throws(CharacterCardError) -> Data {
        let bytes = [UInt8](png)
        let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        guard bytes.count >= 8, Array(bytes[0..<8]) == signature else {
            throw CharacterCardError(code: .unknownFormat, message: "not a PNG file")
        }
        var texts: [String: [UInt8]] = [:]
        var offset = 8
        while offset + 12 <= bytes.count {
            let length = bytes[offset..<(offset + 4)].reduce(0) { $0 << 8 | Int($1) }
            let type = String(decoding: bytes[(offset + 4)..<(offset + 8)], as: UTF8.self)
            let start = offset + 8
            guard start + length + 4 <= bytes.count else {
                throw CharacterCardError(code: .invalidJSON, message: "the PNG is truncated inside a \(type) chunk")
            }
            if type == "tEXt", let separator = bytes[start..<(start + length)].firstIndex(of: 0) {
                let keyword = String(decoding: bytes[start..<separator], as: UTF8.self)
                texts[keyword] = Array(bytes[(separator + 1)..<(start + length)])
            }
            if type == "IEND" { break }
            offset = start + length + 4
        }
        guard let encoded = texts["ccv3"] ?? texts["chara"] else {
            throw CharacterCardError(code: .unknownFormat, message: "the PNG has no character card (no 'ccv3' or 'chara' tEXt chunk)")
        }
        guard let json = Data(base64Encoded: Data(encoded), options: .ignoreUnknownCharacters) else {
            throw CharacterCardError(code: .invalidJSON, message: "the PNG's character card text is not valid base64")
        }
        return json
    }

    /// `card.json` and the icon image from a CHARX zip.
    private static func charx(_ data: Data) throws(CharacterCardError) -> (json: Data, image: Data?) {
        let archive: ZipArchive
        let json: Data
        do {
            archive = try ZipArchive(data: data)
            json = try archive.contents(of: "card.json", limit: maxJSONBytes)
        } catch {
            let code: CharacterCardError.Code = error.code == .tooLarge ? .tooLarge : error.code == .missing ? .unknownFormat : .invalidArchive
            throw CharacterCardError(code: code, message: "CHARX: \(error.message)")
        }
        // The icon is the asset of type "icon" (`embeded://path`, the spec's spelling), else the first file under assets/icon/.
        var iconPath: String?
        for asset in JSONValue.parse(json)?.object?["data"]?.object?["assets"]?.array ?? [] {
            guard let object = asset.object, object["type"]?.string == "icon", let uri = object["uri"]?.string else { continue }
            for prefix in ["embeded://", "embedded://", "__asset:"] where uri.hasPrefix(prefix) {
                iconPath = String(uri.dropFirst(prefix.count))
            }
            if iconPath != nil { break }
        }
        let member = iconPath.flatMap(archive.member(named:))
            ?? archive.members.first { $0.name.hasPrefix("assets/icon/") && !$0.name.hasSuffix("/") }
        guard let member else { return (json, nil) }
        // A missing or damaged icon only loses the image; the card itself is fine.
        guard let image = try? archive.contents(of: member, limit: maxFileBytes),
              image.starts(with: [0x89, 0x50, 0x4E, 0x47]) else { return (json, nil) }
        return (json, image)
    }

    /// What each card field became, and what was left out with the reason.
    private static func report(fields: [String: JSONValue], format: Format, persona: Persona, root: [String: JSONValue])
        -> (mapped: [String], dropped: [ImportedCharacterCard.Dropped]) {
        var mapped: [String] = []
        var dropped: [ImportedCharacterCard.Dropped] = []
        func present(_ key: String) -> Bool {
            switch fields[key] {
            case nil, .null?: false
            case .string(let text)?: !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty
            case .array(let items)?: !items.isEmpty
            case .object(let object)?: !object.isEmpty
            default: true
            }
        }
        if let version = root["spec_version"], format == .cardV3, let number = version.double, number > 3.0 {
            mapped.append("spec_version \(version.textForm) → read as V3 (newer than this importer knows)")
        }
        if format == .eliza {
            let used: [String: String] = [
                "name": "display_name", "username": "name", "system": "character", "bio": "character", "lore": "character",
                "adjectives": "character", "style": "character (all, chat)", "messageExamples": "[[examples]]",
            ]
            for key in fields.keys.sorted() where present(key) {
                if let target = used[key] {
                    mapped.append("\(key) → \(target)")
                } else {
                    dropped.append(.init(field: key, reason: key == "settings" || key == "secrets"
                        ? "runtime settings belong in the bridge config" : "not part of the persona format"))
                }
            }
            return (mapped, dropped)
        }
        let used: [String: String] = [
            "name": "name, display_name", "description": "character", "personality": "character",
            "scenario": "character", "system_prompt": "character (first)", "first_mes": "greeting",
            "nickname": "aliases", "character_book": "lorebook (N.lore.json)",
            "alternate_greetings": "alternate_greetings",
            "group_only_greetings": "group_greetings", "post_history_instructions": "post_history (after the history)",
        ]
        let reasons: [String: String] = [
            "creator_notes": "notes for people, not for the model",
            "creator_notes_multilingual": "notes for people, not for the model",
            "tags": "card metadata", "creator": "card metadata", "character_version": "card metadata",
            "creation_date": "card metadata", "modification_date": "card metadata", "source": "card metadata",
            "extensions": "card-tool extensions, not used by the bridge",
        ]
        for key in fields.keys.sorted() where present(key) {
            if let target = used[key] {
                mapped.append("\(key) → \(target)")
            } else if key == "mes_example" {
                let all = exampleDialogue(fields[key]?.string ?? "", char: persona.displayName)
                mapped.append("mes_example → [[examples]] (\(persona.examples.count) of \(all.count) pairs)")
                if all.count > persona.examples.count {
                    mapped.append("mes_example → [[examples_extra]] (\(all.count - persona.examples.count) pairs beyond the first 3, kept but not sent)")
                }
            } else if key == "assets" {
                if persona.avatarURL != nil { mapped.append("assets (icon URL) → avatar_url") }
                let others = (fields[key]?.array ?? []).filter { $0.object?["type"]?.string != "icon" }.count
                if others > 0 { dropped.append(.init(field: "assets", reason: "\(others) non-icon assets are not used")) }
            } else {
                dropped.append(.init(field: key, reason: reasons[key] ?? "not part of the persona format"))
            }
        }
        return (mapped, dropped)
    }
}

import Foundation

/// Why a lorebook could not be read.
public struct LorebookError: Error, Sendable, CustomStringConvertible {
    /// Error kinds.
    public struct Code: Hashable, Sendable {
        private let raw: String
        /// The input is not JSON.
        public static let invalidJSON = Code(raw: "invalidJSON")
        /// The JSON is not a lorebook, world info file or card with a lorebook.
        public static let unknownFormat = Code(raw: "unknownFormat")
        /// A field has the wrong type.
        public static let invalidField = Code(raw: "invalidField")
    }

    /// What went wrong.
    public let code: Code
    /// Human-readable detail.
    public let message: String
    /// Human-readable detail.
    public var description: String { message }
}

/// Where an entry's content goes in the prompt (V3 `position`, SillyTavern `extensions.position` 0–7).
public enum LorebookPosition: Hashable, Sendable {
    /// Before the character definition (V3 `before_char`, SillyTavern 0).
    case beforeChar
    /// After the character definition (V3 `after_char`, SillyTavern 1).
    case afterChar
    /// Inside the chat history, `depth` messages from the end (SillyTavern 4).
    case atDepth
    /// Any other value (SillyTavern 2, 3, 5, 6, 7 or an unknown V3 string), kept as written.
    case unknown(String)
}

/// The role an at-depth entry is sent with (SillyTavern `role` 0 system, 1 user, 2 assistant).
public enum LorebookRole: Hashable, Sendable {
    /// 0.
    case system
    /// 1.
    case user
    /// 2.
    case assistant
    /// Any other value, kept as written.
    case unknown(Int)

    /// Maps the SillyTavern integer.
    public init(rawValue: Int) {
        switch rawValue {
        case 0: self = .system
        case 1: self = .user
        case 2: self = .assistant
        default: self = .unknown(rawValue)
        }
    }

    /// The SillyTavern integer.
    public var rawValue: Int {
        switch self {
        case .system: 0
        case .user: 1
        case .assistant: 2
        case .unknown(let value): value
        }
    }
}

/// How a selective entry's secondary keys combine (SillyTavern `selectiveLogic`).
public enum LorebookSelectiveLogic: Hashable, Sendable {
    /// 0: any secondary key must match.
    case andAny
    /// 1: fires unless every secondary key matches.
    case notAll
    /// 2: fires only when no secondary key matches.
    case notAny
    /// 3: every secondary key must match.
    case andAll
    /// Any other value, kept as written; treated as `andAny`.
    case unknown(Int)

    /// Maps the SillyTavern integer.
    public init(rawValue: Int) {
        switch rawValue {
        case 0: self = .andAny
        case 1: self = .notAll
        case 2: self = .notAny
        case 3: self = .andAll
        default: self = .unknown(rawValue)
        }
    }

    /// The SillyTavern integer.
    public var rawValue: Int {
        switch self {
        case .andAny: 0
        case .notAll: 1
        case .notAny: 2
        case .andAll: 3
        case .unknown(let value): value
        }
    }
}

/// One lorebook (world info) entry: V3 fields plus SillyTavern's extensions; unknown fields are kept.
public struct LorebookEntry: Hashable, Sendable {
    /// V3 `id` (SillyTavern `uid`), as written.
    public var id: JSONValue?
    /// V3 `name`.
    public var name: String?
    /// V3 `comment` (SillyTavern's title).
    public var comment: String?
    /// Primary keys; `/…/flags` keys are regular expressions.
    public var keys: [String]
    /// Secondary keys, checked by `selectiveLogic` when `selective`.
    public var secondaryKeys: [String]
    /// The text inserted; leading `@@` decorator lines are parsed at activation and stripped.
    public var content: String
    /// Disabled entries never fire.
    public var enabled: Bool
    /// Constant entries fire without keys.
    public var constant: Bool
    /// Whether secondary keys apply.
    public var selective: Bool
    /// How secondary keys combine.
    public var selectiveLogic: LorebookSelectiveLogic
    /// Lower values are inserted earlier; SillyTavern's `order`.
    public var insertionOrder: Int
    /// V3 `priority`: over the token budget, lower priorities are dropped first.
    public var priority: Int?
    /// Where the content goes.
    public var position: LorebookPosition
    /// Chat depth for `.atDepth` (default 4).
    public var depth: Int?
    /// Role for `.atDepth` (default system).
    public var role: LorebookRole?
    /// Case-sensitive key matching (default off).
    public var caseSensitive: Bool?
    /// Single-word keys match whole words only (default on).
    public var matchWholeWords: Bool?
    /// V3 `use_regex`, as written (keys in `/…/flags` form are regexes either way).
    public var useRegex: Bool?
    /// Messages scanned for this entry, overriding the book's.
    public var scanDepth: Int?
    /// Chance to fire in percent (default 100).
    public var probability: Int?
    /// SillyTavern's switch for `probability`; false means always.
    public var useProbability: Bool?
    /// Stays active for this many messages after firing.
    public var sticky: Int?
    /// Cannot fire again for this many messages after firing (or after its sticky span).
    public var cooldown: Int?
    /// Cannot fire before the chat has this many messages.
    public var delay: Int?
    /// Cannot be activated by another entry's content.
    public var excludeRecursion: Bool
    /// Its content does not activate other entries.
    public var preventRecursion: Bool
    /// Remaining `extensions`, kept verbatim.
    public var extensions: [String: JSONValue]
    /// Unknown entry fields, kept verbatim.
    public var extra: [String: JSONValue]

    /// Creates an entry with the spec's defaults.
    public init(
        id: JSONValue? = nil, name: String? = nil, comment: String? = nil, keys: [String], secondaryKeys: [String] = [],
        content: String, enabled: Bool = true, constant: Bool = false, selective: Bool = false,
        selectiveLogic: LorebookSelectiveLogic = .andAny, insertionOrder: Int = 100, priority: Int? = nil,
        position: LorebookPosition = .beforeChar, depth: Int? = nil, role: LorebookRole? = nil,
        caseSensitive: Bool? = nil, matchWholeWords: Bool? = nil, useRegex: Bool? = nil, scanDepth: Int? = nil,
        probability: Int? = nil, useProbability: Bool? = nil, sticky: Int? = nil, cooldown: Int? = nil,
        delay: Int? = nil, excludeRecursion: Bool = false, preventRecursion: Bool = false,
        extensions: [String: JSONValue] = [:], extra: [String: JSONValue] = [:]
    ) {
        self.id = id
        self.name = name
        self.comment = comment
        self.keys = keys
        self.secondaryKeys = secondaryKeys
        self.content = content
        self.enabled = enabled
        self.constant = constant
        self.selective = selective
        self.selectiveLogic = selectiveLogic
        self.insertionOrder = insertionOrder
        self.priority = priority
        self.position = position
        self.depth = depth
        self.role = role
        self.caseSensitive = caseSensitive
        self.matchWholeWords = matchWholeWords
        self.useRegex = useRegex
        self.scanDepth = scanDepth
        self.probability = probability
        self.useProbability = useProbability
        self.sticky = sticky
        self.cooldown = cooldown
        self.delay = delay
        self.excludeRecursion = excludeRecursion
        self.preventRecursion = preventRecursion
        self.extensions = extensions
        self.extra = extra
    }

    /// The chance to fire in percent, 0–100.
    public var effectiveProbability: Int {
        useProbability == false ? 100 : min(max(probability ?? 100, 0), 100)
    }

    /// A label for reports: the comment or name, else the first key, else the id.
    public var label: String {
        for candidate in [comment, name, keys.first] {
            if let candidate, !candidate.trimmingCharacters(in: .whitespaces).isEmpty { return candidate }
        }
        return id?.textForm ?? "(unnamed)"
    }
}

/// A lorebook (V3 `character_book` / `lorebook_v3`, or SillyTavern world info); unknown fields are kept.
public struct Lorebook: Hashable, Sendable {
    /// Book name.
    public var name: String?
    /// Book description.
    public var description: String?
    /// Messages scanned for keys (default 2, as SillyTavern).
    public var scanDepth: Int?
    /// Most tokens of lore per prompt; nil means no limit.
    public var tokenBudget: Int?
    /// Whether fired content may activate further entries.
    public var recursiveScanning: Bool
    /// The entries, in file order.
    public var entries: [LorebookEntry]
    /// Book `extensions`, kept verbatim.
    public var extensions: [String: JSONValue]
    /// Unknown book fields, kept verbatim.
    public var extra: [String: JSONValue]

    /// Default messages scanned when neither the book nor the entry says.
    public static let defaultScanDepth = 2

    /// Creates a book.
    public init(
        name: String? = nil, description: String? = nil, scanDepth: Int? = nil, tokenBudget: Int? = nil,
        recursiveScanning: Bool = false, entries: [LorebookEntry], extensions: [String: JSONValue] = [:],
        extra: [String: JSONValue] = [:]
    ) {
        self.name = name
        self.description = description
        self.scanDepth = scanDepth
        self.tokenBudget = tokenBudget
        self.recursiveScanning = recursiveScanning
        self.entries = entries
        self.extensions = extensions
        self.extra = extra
    }

    /// The source format a lorebook was read from.
    public enum Format: String, Sendable {
        /// `{spec: "lorebook_v3", data}`.
        case lorebookV3
        /// SillyTavern world info (`{entries: {"0": {key, …}}}`).
        case sillyTavern
        /// A bare `character_book` object.
        case characterBook
        /// A V2/V3 card's `data.character_book`.
        case embedded
    }

    /// Reads a standalone lorebook, SillyTavern world info, bare `character_book`, or a card's embedded book.
    public static func decode(json: Data) throws(LorebookError) -> (book: Lorebook, format: Format) {
        guard let value = JSONValue.parse(json) else {
            throw LorebookError(code: .invalidJSON, message: "the lorebook is not valid JSON")
        }
        guard let root = value.object else {
            throw LorebookError(code: .unknownFormat, message: "the lorebook is not a JSON object")
        }
        if root["spec"]?.string == "lorebook_v3" {
            guard let data = root["data"]?.object else {
                throw LorebookError(code: .invalidField, message: "lorebook_v3 has no 'data' object")
            }
            return (try characterBook(data), .lorebookV3)
        }
        if let spec = root["spec"]?.string, spec.hasPrefix("chara_card_") {
            guard let book = root["data"]?.object?["character_book"]?.object else {
                throw LorebookError(code: .unknownFormat, message: "the \(spec) card has no character_book")
            }
            return (try characterBook(book), .embedded)
        }
        if let entries = root["entries"] {
            if entries.object != nil { return (try sillyTavern(root), .sillyTavern) }
            if entries.array != nil { return (try characterBook(root), .characterBook) }
        }
        throw LorebookError(code: .unknownFormat,
                            message: "not a lorebook_v3, SillyTavern world info or character_book (no 'entries')")
    }

    /// Reads a V2/V3 `character_book` object (also `lorebook_v3`'s `data`).
    public static func characterBook(_ object: [String: JSONValue]) throws(LorebookError) -> Lorebook {
        var rest = object
        guard let rawEntries = rest.removeValue(forKey: "entries")?.array else {
            throw LorebookError(code: .invalidField, message: "the lorebook's 'entries' is not an array")
        }
        var entries: [LorebookEntry] = []
        for (index, raw) in rawEntries.enumerated() {
            guard let entry = raw.object else {
                throw LorebookError(code: .invalidField, message: "lorebook entry \(index) is not an object")
            }
            entries.append(try v3Entry(entry, index: index))
        }
        return Lorebook(
            name: rest.removeValue(forKey: "name")?.string,
            description: rest.removeValue(forKey: "description")?.string,
            scanDepth: rest.removeValue(forKey: "scan_depth")?.int,
            tokenBudget: rest.removeValue(forKey: "token_budget")?.int,
            recursiveScanning: rest.removeValue(forKey: "recursive_scanning")?.bool ?? false,
            entries: entries,
            extensions: rest.removeValue(forKey: "extensions")?.object ?? [:],
            extra: rest)
    }

    private static func v3Entry(_ object: [String: JSONValue], index: Int) throws(LorebookError) -> LorebookEntry {
        var rest = object
        var ext = rest.removeValue(forKey: "extensions")?.object ?? [:]
        guard let content = rest.removeValue(forKey: "content")?.string else {
            throw LorebookError(code: .invalidField, message: "lorebook entry \(index) has no 'content' string")
        }
        let keys = rest.removeValue(forKey: "keys")?.strings ?? []
        let positionText = rest.removeValue(forKey: "position")?.string
        let stPosition = ext.removeValue(forKey: "position")?.int
        let position: LorebookPosition
        switch (stPosition, positionText) {
        case (0?, _): position = .beforeChar
        case (1?, _): position = .afterChar
        case (4?, _): position = .atDepth
        case (let other?, _): position = .unknown(String(other))
        case (nil, "before_char"?), (nil, nil): position = .beforeChar
        case (nil, "after_char"?): position = .afterChar
        case (nil, let text?): position = .unknown(text)
        }
        let caseSensitive = rest.removeValue(forKey: "case_sensitive")?.bool
        let extCaseSensitive = ext.removeValue(forKey: "case_sensitive")?.bool
        return LorebookEntry(
            id: rest.removeValue(forKey: "id"),
            name: rest.removeValue(forKey: "name")?.string,
            comment: rest.removeValue(forKey: "comment")?.string,
            keys: keys,
            secondaryKeys: rest.removeValue(forKey: "secondary_keys")?.strings ?? [],
            content: content,
            enabled: rest.removeValue(forKey: "enabled")?.bool ?? true,
            constant: rest.removeValue(forKey: "constant")?.bool ?? false,
            selective: rest.removeValue(forKey: "selective")?.bool ?? false,
            selectiveLogic: LorebookSelectiveLogic(rawValue: ext.removeValue(forKey: "selectiveLogic")?.int ?? 0),
            insertionOrder: rest.removeValue(forKey: "insertion_order")?.int ?? 100,
            priority: rest.removeValue(forKey: "priority")?.int,
            position: position,
            depth: ext.removeValue(forKey: "depth")?.int,
            role: ext.removeValue(forKey: "role")?.int.map(LorebookRole.init(rawValue:)),
            caseSensitive: caseSensitive ?? extCaseSensitive,
            matchWholeWords: ext.removeValue(forKey: "match_whole_words")?.bool,
            useRegex: rest.removeValue(forKey: "use_regex")?.bool,
            scanDepth: ext.removeValue(forKey: "scan_depth")?.int,
            probability: ext.removeValue(forKey: "probability")?.int,
            useProbability: ext.removeValue(forKey: "useProbability")?.bool,
            sticky: ext.removeValue(forKey: "sticky")?.int,
            cooldown: ext.removeValue(forKey: "cooldown")?.int,
            delay: ext.removeValue(forKey: "delay")?.int,
            excludeRecursion: ext.removeValue(forKey: "exclude_recursion")?.bool ?? false,
            preventRecursion: ext.removeValue(forKey: "prevent_recursion")?.bool ?? false,
            extensions: ext, extra: rest)
    }

    /// Reads SillyTavern world info: `entries` is an object keyed by uid, fields in camelCase.
    private static func sillyTavern(_ object: [String: JSONValue]) throws(LorebookError) -> Lorebook {
        var rest = object
        let rawEntries = rest.removeValue(forKey: "entries")?.object ?? [:]
        // Entries are keyed "0", "1", …; file order follows the numeric uid (then displayIndex is kept verbatim).
        let ordered = rawEntries.sorted { lhs, rhs in
            switch (Int(lhs.key), Int(rhs.key)) {
            case let (left?, right?): left < right
            case (nil, nil): lhs.key < rhs.key
            case (_?, nil): true
            case (nil, _?): false
            }
        }
        var entries: [LorebookEntry] = []
        for (key, raw) in ordered {
            guard var fields = raw.object else {
                throw LorebookError(code: .invalidField, message: "world info entry \(key) is not an object")
            }
            guard let content = fields.removeValue(forKey: "content")?.string else {
                throw LorebookError(code: .invalidField, message: "world info entry \(key) has no 'content' string")
            }
            let stPosition = fields.removeValue(forKey: "position")?.int ?? 0
            let position: LorebookPosition = switch stPosition {
            case 0: .beforeChar
            case 1: .afterChar
            case 4: .atDepth
            default: .unknown(String(stPosition))
            }
            entries.append(LorebookEntry(
                id: fields.removeValue(forKey: "uid") ?? .string(key),
                comment: fields.removeValue(forKey: "comment")?.string,
                keys: fields.removeValue(forKey: "key")?.strings ?? [],
                secondaryKeys: fields.removeValue(forKey: "keysecondary")?.strings ?? [],
                content: content,
                enabled: !(fields.removeValue(forKey: "disable")?.bool ?? false),
                constant: fields.removeValue(forKey: "constant")?.bool ?? false,
                selective: fields.removeValue(forKey: "selective")?.bool ?? false,
                selectiveLogic: LorebookSelectiveLogic(rawValue: fields.removeValue(forKey: "selectiveLogic")?.int ?? 0),
                insertionOrder: fields.removeValue(forKey: "order")?.int ?? 100,
                position: position,
                depth: fields.removeValue(forKey: "depth")?.int,
                role: fields.removeValue(forKey: "role")?.int.map(LorebookRole.init(rawValue:)),
                caseSensitive: fields.removeValue(forKey: "caseSensitive")?.bool,
                matchWholeWords: fields.removeValue(forKey: "matchWholeWords")?.bool,
                scanDepth: fields.removeValue(forKey: "scanDepth")?.int,
                probability: fields.removeValue(forKey: "probability")?.int,
                useProbability: fields.removeValue(forKey: "useProbability")?.bool,
                sticky: fields.removeValue(forKey: "sticky")?.int,
                cooldown: fields.removeValue(forKey: "cooldown")?.int,
                delay: fields.removeValue(forKey: "delay")?.int,
                excludeRecursion: fields.removeValue(forKey: "excludeRecursion")?.bool ?? false,
                preventRecursion: fields.removeValue(forKey: "preventRecursion")?.bool ?? false,
                extensions: fields))
        }
        return Lorebook(name: rest.removeValue(forKey: "name")?.string, entries: entries, extra: rest)
    }

    /// The book as `{spec: "lorebook_v3", data}`; SillyTavern fields go to each entry's `extensions` as it exports them.
    public func lorebookV3JSON() -> JSONValue {
        .object(["spec": .string("lorebook_v3"), "data": characterBookJSON()])
    }

    /// The book as a V3 `character_book` object.
    public func characterBookJSON() -> JSONValue {
        var data = extra
        if let name { data["name"] = .string(name) }
        if let description { data["description"] = .string(description) }
        if let scanDepth { data["scan_depth"] = .int(scanDepth) }
        if let tokenBudget { data["token_budget"] = .int(tokenBudget) }
        data["recursive_scanning"] = .bool(recursiveScanning)
        data["extensions"] = .object(extensions)
        data["entries"] = .array(entries.map(\.v3JSON))
        return .object(data)
    }
}

extension LorebookEntry {
    /// The entry in V3 form with SillyTavern's extension names.
    var v3JSON: JSONValue {
        var object = extra
        var ext = extensions
        if let id { object["id"] = id }
        if let name { object["name"] = .string(name) }
        if let comment { object["comment"] = .string(comment) }
        object["keys"] = .array(keys.map(JSONValue.string))
        object["secondary_keys"] = .array(secondaryKeys.map(JSONValue.string))
        object["content"] = .string(content)
        object["enabled"] = .bool(enabled)
        object["constant"] = .bool(constant)
        object["selective"] = .bool(selective)
        object["insertion_order"] = .int(insertionOrder)
        if let priority { object["priority"] = .int(priority) }
        if let caseSensitive { object["case_sensitive"] = .bool(caseSensitive) }
        if let useRegex { object["use_regex"] = .bool(useRegex) }
        switch position {
        case .beforeChar:
            object["position"] = .string("before_char")
        case .afterChar:
            object["position"] = .string("after_char")
        case .atDepth:
            object["position"] = .string("after_char")
            ext["position"] = .int(4)
        case .unknown(let text):
            if let number = Int(text) {
                object["position"] = .string("after_char")
                ext["position"] = .int(number)
            } else {
                object["position"] = .string(text)
            }
        }
        ext["selectiveLogic"] = .int(selectiveLogic.rawValue)
        if let depth { ext["depth"] = .int(depth) }
        if let role { ext["role"] = .int(role.rawValue) }
        if let matchWholeWords { ext["match_whole_words"] = .bool(matchWholeWords) }
        if let scanDepth { ext["scan_depth"] = .int(scanDepth) }
        if let probability { ext["probability"] = .int(probability) }
        if let useProbability { ext["useProbability"] = .bool(useProbability) }
        if let sticky { ext["sticky"] = .int(sticky) }
        if let cooldown { ext["cooldown"] = .int(cooldown) }
        if let delay { ext["delay"] = .int(delay) }
        ext["exclude_recursion"] = .bool(excludeRecursion)
        ext["prevent_recursion"] = .bool(preventRecursion)
        object["extensions"] = .object(ext)
        return .object(object)
    }
}

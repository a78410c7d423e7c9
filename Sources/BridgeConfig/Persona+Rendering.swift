extension Persona {
    /// Whether `text` names this persona (name, display name or alias) as a whole word, case-insensitively.
    public func isNamed(in text: String) -> Bool {
        ([name, displayName] + aliases).contains { Self.containsWholeWord($0, in: text) }
    }

    static func containsWholeWord(_ word: String, in text: String) -> Bool {
        let needle = Array(word.lowercased())
        let haystack = Array(text.lowercased())
        guard !needle.isEmpty, needle.count <= haystack.count else { return false }
        func isWordCharacter(_ character: Character) -> Bool { character.isLetter || character.isNumber || character == "_" }
        for start in 0...(haystack.count - needle.count) where haystack[start..<(start + needle.count)].elementsEqual(needle) {
            let beforeOK = start == 0 || !isWordCharacter(haystack[start - 1])
            let end = start + needle.count
            let afterOK = end == haystack.count || !isWordCharacter(haystack[end])
            if beforeOK && afterOK { return true }
        }
        return false
    }
}

extension Persona {
    /// The `user_system` text for a speaker: the template with `{{user}}`, `{{char}}` and `{{people}}` filled in,
    /// or a short default description of who is present when the persona has no template.
    public func userSystemText(user: String, people: [String]) -> String {
        let others = people.filter { $0 != user }
        let present = others.isEmpty ? "nobody else" : others.joined(separator: ", ")
        guard let template = userSystemTemplate else {
            return others.isEmpty ? "\(user) is talking with \(displayName)."
                : "\(user) is talking with \(displayName). Also present: \(present)."
        }
        return template
            .replacingOccurrences(of: "{{user}}", with: user)
            .replacingOccurrences(of: "{{char}}", with: displayName)
            .replacingOccurrences(of: "{{people}}", with: present)
    }

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

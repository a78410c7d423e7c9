import Foundation

extension ConfigLoader {
    /// Reads `[[servers]]`: lorebooks for every channel of a server, or of a platform when `server` is left out.
    func readServers(
        _ root: [String: ConfigValue], _ reader: SchemaReader, lorebooks: [String: Lorebook], directory: String
    ) -> [ServerSettings] {
        guard let value = root["servers"] else { return [] }
        guard case .array(let items) = value else {
            reader.report("servers", "expected [[servers]] tables, found \(value.typeName)",
                          hint: "write each server as a [[servers]] section")
            return []
        }
        var result: [ServerSettings] = []
        for (index, item) in items.enumerated() {
            let path = "servers[\(index)]"
            guard case .table(let table) = item else {
                reader.report(path, "each server must be a table", hint: "write it as a [[servers]] section")
                continue
            }
            reader.checkKeys(table, at: path, known: ConfigSchema.server)
            var valid = true
            let platform = reader.string(table, "platform", at: path, nonEmpty: true)
            if let platform, !ConfigSchema.platformNames.contains(platform) {
                valid = false
                reader.report("\(path).platform", "unknown platform '\(platform)'",
                              hint: SchemaReader.suggestion(for: platform, among: ConfigSchema.platformNames).map { "did you mean '\($0)'?" }
                                ?? "use one of: \(ConfigSchema.platformNames.joined(separator: ", "))")
            } else if platform == nil, table["platform"] == nil {
                valid = false
                reader.report(path, "server settings have no 'platform'", hint: "add platform = \"discord\" (or irc, matrix)")
            }
            let server = reader.string(table, "server", at: path, nonEmpty: true)
            let books = reader.strings(table, "lorebooks", at: path) ?? []
            for (bookIndex, book) in books.enumerated() where lorebooks[book] == nil {
                valid = false
                let available = lorebooks.keys.sorted()
                reader.report("\(path).lorebooks[\(bookIndex)]",
                              "lorebook '\(book)' not found (looked for \((directory as NSString).appendingPathComponent("\(book).lore.json")))",
                              hint: "import one with `persona-bridge lore import FILE`; available: \(available.isEmpty ? "none" : available.joined(separator: ", "))")
            }
            guard valid, let platform else { continue }
            if let earlier = result.first(where: { $0.platform == platform && $0.server == server }) {
                let place = earlier.line.map { "line \($0)" } ?? "an earlier [[servers]]"
                reader.report(path, "duplicate [[servers]] for \(platform) \(server.map { "server '\($0)'" } ?? "(every channel)")",
                              hint: "already set at \(place); merge the two")
                continue
            }
            result.append(ServerSettings(platform: platform, server: server, lorebooks: books,
                                         line: reader.locator.line(of: path)))
        }
        return result
    }
}

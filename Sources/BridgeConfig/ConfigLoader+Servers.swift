import Foundation

extension ConfigLoader {
    /// Reads `[[servers]]`: lorebooks for every channel of a server, or of a platform when `server` is left out.
    func readServers(
        _ root: [String: ConfigValue], _ reader: SchemaReader, lorebooks: [String: Lorebook], directory: String
    ) -> [ServerSettings] {
        var result: [ServerSettings] = []
        for (path, table) in reader.arrayOfTables(root, "servers", known: ConfigSchema.server, noun: "server") {
            let platform = reader.platformName(table, at: path, noun: "server")
            let server = reader.string(table, "server", at: path, nonEmpty: true)
            let books = reader.lorebookNames(table, at: path, known: lorebooks, directory: directory)
            guard let platform, let books else { continue }
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

import Foundation

/// A temporary bot directory for `persona-bridge` process tests: personas plus a `bot.toml` with `[model]` pointing
/// at the fake model server (key from `PB_TEST_KEY`), `[storage]` under `state/`, and the caller's sections.
public enum TestBot {
    /// Personas every process test can bind: Aria (friendly) and Bolt (terse).
    public static let personas = [
        ("aria", "Aria", "You are Aria, a friendly test persona."),
        ("bolt", "Bolt", "You are Bolt, a terse robot."),
    ]

    /// Writes the directory and returns it; `bot.toml` is inside.
    public static func write(modelPort: Int, extra: String, prefix: String = "pb-run") throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("personas"), withIntermediateDirectories: true)
        for (name, displayName, character) in personas {
            try """
                name = "\(name)"
                display_name = "\(displayName)"
                character = "\(character)"
                """.write(to: dir.appendingPathComponent("personas/\(name).toml"), atomically: true, encoding: .utf8)
        }
        try """
            [model]
            provider = "openrouter"
            base_url = "http://127.0.0.1:\(modelPort)/api/v1"
            api_key_env = "PB_TEST_KEY"

            [storage]
            path = "state/bridge.sqlite"

            \(extra)
            """.write(to: dir.appendingPathComponent("bot.toml"), atomically: true, encoding: .utf8)
        return dir
    }
}

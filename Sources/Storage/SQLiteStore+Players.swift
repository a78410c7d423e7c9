import Foundation
import GRDB

extension SQLiteStore {
    /// The player persona a user set for one scene, or with `scene` nil for the whole platform.
    public func playerPersona(platform: String, userID: String, scene: ChannelKey?) async throws -> PlayerPersona? {
        let (server, channel) = Self.sceneColumns(scene)
        return try await read("reading the player persona of \(platform) user \(userID)") { db in
            try Row.fetchOne(db, sql: """
                SELECT name, description, updated_at FROM player_persona
                WHERE platform = ? AND user_id = ? AND scene_server = ? AND scene_channel = ?
                """, arguments: [platform, userID, server, channel]).map(Self.playerPersona)
        }
    }

    /// Sets or removes a user's player persona for one scene, or with `scene` nil for the platform.
    public func setPlayerPersona(_ persona: PlayerPersona?, platform: String, userID: String, scene: ChannelKey?) async throws {
        let (server, channel) = Self.sceneColumns(scene)
        try await write("storing the player persona of \(platform) user \(userID)") { db in
            if let persona {
                try db.execute(sql: """
                    INSERT INTO player_persona (platform, user_id, scene_server, scene_channel, name, description, updated_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (platform, user_id, scene_server, scene_channel) DO UPDATE SET
                        name = excluded.name, description = excluded.description, updated_at = excluded.updated_at
                    """, arguments: [platform, userID, server, channel, persona.name, persona.description,
                                     persona.updatedAt.storageMilliseconds])
            } else {
                try db.execute(sql: """
                    DELETE FROM player_persona
                    WHERE platform = ? AND user_id = ? AND scene_server = ? AND scene_channel = ?
                    """, arguments: [platform, userID, server, channel])
            }
        }
    }

    /// The player personas in effect in `scene` (its own, else the platform's), by user id.
    public func playerPersonas(in scene: ChannelKey, userIDs: [String]) async throws -> [String: PlayerPersona] {
        guard !userIDs.isEmpty else { return [:] }
        let (server, channel) = Self.sceneColumns(scene)
        let ids = Array(Set(userIDs))
        return try await read("reading player personas in \(scene)") { db in
            var found: [String: PlayerPersona] = [:]
            // SQLite's default limit on bound variables is far above a prompt's speakers, but chunk anyway.
            for start in stride(from: 0, to: ids.count, by: 500) {
                let chunk = Array(ids[start..<min(ids.count, start + 500)])
                let marks = Array(repeating: "?", count: chunk.count).joined(separator: ", ")
                var arguments: StatementArguments = [scene.platform, server, channel]
                arguments += StatementArguments(chunk)
                // The scene's own row sorts last, so it replaces the platform-wide one.
                let rows = try Row.fetchAll(db, sql: """
                    SELECT user_id, name, description, updated_at FROM player_persona
                    WHERE platform = ? AND ((scene_server = '' AND scene_channel = '') OR (scene_server = ? AND scene_channel = ?))
                      AND user_id IN (\(marks))
                    ORDER BY scene_channel <> ''
                    """, arguments: arguments)
                for row in rows {
                    let user: String = row[0]
                    found[user] = PlayerPersona(name: row[1], description: row[2], updatedAt: Date(storageMilliseconds: row[3]))
                }
            }
            return found
        }
    }

    private static func playerPersona(_ row: Row) -> PlayerPersona {
        PlayerPersona(name: row[0], description: row[1], updatedAt: Date(storageMilliseconds: row[2]))
    }

    /// A scene as its two key columns; the platform-wide row has both empty (a channel id is never empty).
    static func sceneColumns(_ scene: ChannelKey?) -> (server: String, channel: String) {
        guard let scene else { return ("", "") }
        return (scene.serverID ?? "", scene.channelID)
    }
}

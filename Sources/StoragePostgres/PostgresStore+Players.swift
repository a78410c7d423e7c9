import Foundation
import Storage
internal import PostgresNIO

extension PostgresStore {
    /// The player persona a user set for one scene, or with `scene` nil for the whole platform.
    public func playerPersona(platform: String, userID: String, scene: ChannelKey?) async throws -> PlayerPersona? {
        let (server, channel) = Self.sceneColumns(scene)
        return try await withConnection("reading the player persona of \(platform) user \(userID)") { connection in
            let rows = try await connection.query("""
                SELECT name, description, updated_at FROM player_persona
                WHERE platform = \(platform) AND user_id = \(userID) AND scene_server = \(server) AND scene_channel = \(channel)
                """, logger: Self.quietLogger)
            for try await (name, description, at) in rows.decode((String, String, Int64).self) {
                return PlayerPersona(name: name, description: description, updatedAt: Date(storageMilliseconds: at))
            }
            return nil
        }
    }

    /// Sets or removes a user's player persona for one scene, or with `scene` nil for the platform.
    public func setPlayerPersona(_ persona: PlayerPersona?, platform: String, userID: String, scene: ChannelKey?) async throws {
        let (server, channel) = Self.sceneColumns(scene)
        try await withConnection("storing the player persona of \(platform) user \(userID)") { connection in
            if let persona {
                let at = persona.updatedAt.storageMilliseconds
                try await connection.query("""
                    INSERT INTO player_persona (platform, user_id, scene_server, scene_channel, name, description, updated_at)
                    VALUES (\(platform), \(userID), \(server), \(channel), \(persona.name), \(persona.description), \(at))
                    ON CONFLICT (platform, user_id, scene_server, scene_channel) DO UPDATE SET
                        name = excluded.name, description = excluded.description, updated_at = excluded.updated_at
                    """, logger: Self.quietLogger).drain()
            } else {
                try await connection.query("""
                    DELETE FROM player_persona
                    WHERE platform = \(platform) AND user_id = \(userID) AND scene_server = \(server) AND scene_channel = \(channel)
                    """, logger: Self.quietLogger).drain()
            }
        }
    }

    /// The player personas in effect in `scene` (its own, else the platform's), by user id.
    public func playerPersonas(in scene: ChannelKey, userIDs: [String]) async throws -> [String: PlayerPersona] {
        guard !userIDs.isEmpty else { return [:] }
        let (server, channel) = Self.sceneColumns(scene)
        let ids = Array(Set(userIDs))
        return try await withConnection("reading player personas in \(scene)") { connection in
            // The scene's own row sorts last, so it replaces the platform-wide one.
            let rows = try await connection.query("""
                SELECT user_id, name, description, updated_at FROM player_persona
                WHERE platform = \(scene.platform)
                  AND ((scene_server = '' AND scene_channel = '') OR (scene_server = \(server) AND scene_channel = \(channel)))
                  AND user_id = ANY(\(ids)::TEXT[])
                ORDER BY scene_channel <> ''
                """, logger: Self.quietLogger)
            var found: [String: PlayerPersona] = [:]
            for try await (user, name, description, at) in rows.decode((String, String, String, Int64).self) {
                found[user] = PlayerPersona(name: name, description: description, updatedAt: Date(storageMilliseconds: at))
            }
            return found
        }
    }

    /// A scene as its two key columns; the platform-wide row has both empty (a channel id is never empty).
    static func sceneColumns(_ scene: ChannelKey?) -> (server: String, channel: String) {
        guard let scene else { return ("", "") }
        return (scene.serverID ?? "", scene.channelID)
    }
}

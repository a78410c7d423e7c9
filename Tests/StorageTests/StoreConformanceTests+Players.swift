import Foundation
import Storage
import Testing

extension StoreConformanceTests {
    @Test("player personas: per platform, per scene override, batch lookup, clear", arguments: StoreBackend.all)
    func playerPersonas(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store in
            #expect(try await store.playerPersona(platform: "discord", userID: "alice", scene: nil) == nil)
            #expect(try await store.playerPersonas(in: general, userIDs: ["alice", "bob"]).isEmpty)
            #expect(try await store.playerPersonas(in: general, userIDs: []).isEmpty)

            let kael = PlayerPersona(name: "Kael", description: "A scarred ranger.\nTrusts no one.", updatedAt: at(1_000))
            let mira = PlayerPersona(name: "Mira", description: "A court mage 🔮", updatedAt: at(2_000))
            let rook = PlayerPersona(name: "Rook", description: "A thief.", updatedAt: at(3_000))
            try await store.setPlayerPersona(kael, platform: "discord", userID: "alice", scene: nil)
            try await store.setPlayerPersona(mira, platform: "discord", userID: "bob", scene: general)
            try await store.setPlayerPersona(rook, platform: "discord", userID: "alice", scene: random)
            // Same user id on another platform is another person.
            try await store.setPlayerPersona(mira, platform: "irc", userID: "alice", scene: nil)

            #expect(try await store.playerPersona(platform: "discord", userID: "alice", scene: nil) == kael)
            #expect(try await store.playerPersona(platform: "discord", userID: "alice", scene: general) == nil)
            #expect(try await store.playerPersona(platform: "discord", userID: "alice", scene: random) == rook)
            #expect(try await store.playerPersonas(in: general, userIDs: ["alice", "bob", "carol", "alice"]) == ["alice": kael, "bob": mira])
            #expect(try await store.playerPersonas(in: random, userIDs: ["alice", "bob"]) == ["alice": rook], "the scene's own wins")
            let ircScene = ChannelKey(platform: "irc", serverID: "libera", channelID: "#tavern")
            #expect(try await store.playerPersonas(in: ircScene, userIDs: ["alice"]) == ["alice": mira])

            var renamed = kael
            renamed.name = "Kael the Grey"
            renamed.updatedAt = at(4_000)
            try await store.setPlayerPersona(renamed, platform: "discord", userID: "alice", scene: nil)
            #expect(try await store.playerPersona(platform: "discord", userID: "alice", scene: nil) == renamed)

            try await store.setPlayerPersona(nil, platform: "discord", userID: "alice", scene: random)
            #expect(try await store.playerPersonas(in: random, userIDs: ["alice"]) == ["alice": renamed], "back to the platform's")
            try await store.setPlayerPersona(nil, platform: "discord", userID: "alice", scene: nil)
            #expect(try await store.playerPersonas(in: random, userIDs: ["alice"]).isEmpty)
            #expect(try await store.playerPersona(platform: "irc", userID: "alice", scene: nil) == mira)
        }
    }

    @Test("player personas survive a restart", arguments: StoreBackend.persistent)
    func playerPersonasPersist(_ backend: StoreBackend) async throws {
        try await withFixture(backend) { fixture in
            let kael = PlayerPersona(name: "Kael", description: "A scarred ranger.", updatedAt: at(1_000))
            try await withOpenStore(fixture) { store async throws in
                try await store.setPlayerPersona(kael, platform: "discord", userID: "alice", scene: general)
            }
            try await withOpenStore(fixture) { store async throws in
                #expect(try await store.playerPersona(platform: "discord", userID: "alice", scene: general) == kael)
                #expect(try await store.appliedMigrations().contains("v4-player-personas"))
            }
        }
    }
}

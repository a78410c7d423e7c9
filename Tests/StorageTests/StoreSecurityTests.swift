import Foundation
import Storage
import Testing

/// Edits by others and secrets at rest, on every backend.
@Suite("Store security")
struct StoreSecurityTests {
    /// Point 2: an edit by anyone but the original speaker, or to a persona's message, changes nothing.
    @Test("an edit by another member rewrites nothing, a persona's message not even for its speaker id",
          arguments: StoreBackend.all)
    func editByAnotherMemberIsRefused(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store in
            try await store.insert(humanMessage("m1", text: "original", at: 1_000, speaker: "alice"))
            try await store.insert(StoredMessage(channel: general, messageID: "p1", speakerID: "persona:aria", speakerName: "Aria",
                                                 kind: .persona, personaName: "aria", text: "the reply", timestamp: at(2_000)))
            #expect(try await !store.applyEdit(in: general, messageID: "m1", newText: "forged", by: "mallory"))
            #expect(try await !store.applyEdit(in: general, messageID: "p1", newText: "forged", by: "mallory"))
            #expect(try await !store.applyEdit(in: general, messageID: "p1", newText: "forged", by: "persona:aria"))
            #expect(try await store.recentMessages(in: general, limit: 10).map(\.text) == ["original", "the reply"])
            #expect(try await store.applyEdit(in: general, messageID: "m1", newText: "fixed typo", by: "alice"))
            #expect(try await store.message(in: general, messageID: "m1")?.text == "fixed typo")
        }
    }

    /// Point 10: with a state key, the Matrix token and webhook tokens are sealed; a copy of the store without the
    /// key (or with another key) does not reveal them.
    @Test("a stolen store does not reveal stored tokens without the state key", arguments: StoreBackend.all)
    func stolenStoreRevealsNoToken(_ backend: StoreBackend) async throws {
        let token = "syt_bWF0cml4_AccessTokenThatMustNotLeak_0123"
        let sealer = try StateSealer(keyMaterial: "correct horse battery staple 42")
        try await withStore(backend) { store in
            // A plain value written before a key was configured is sealed in place on first read.
            try await store.setState("12345 old-webhook-token-abcdef", for: "discord.webhook.1")
            #expect(try await store.secretState(for: "discord.webhook.1", sealer: sealer) == "12345 old-webhook-token-abcdef")
            let migrated = try #require(try await store.state(for: "discord.webhook.1"))
            #expect(StateSealer.isSealed(migrated) && !migrated.contains("old-webhook-token"))

            try await store.setSecretState(token, for: "matrix.access_token", sealer: sealer)
            let raw = try #require(try await store.state(for: "matrix.access_token"))
            #expect(!raw.contains("AccessTokenThatMustNotLeak"), "\(raw)")
            #expect(try await store.secretState(for: "matrix.access_token", sealer: sealer) == token)

            let missing = await #expect(throws: StateSealerError.self) {
                _ = try await store.secretState(for: "matrix.access_token", sealer: nil)
            }
            #expect(missing?.code == .keyMissing)
            let wrong = try StateSealer(keyMaterial: "another key, not the right one")
            let refused = await #expect(throws: StateSealerError.self) {
                _ = try await store.secretState(for: "matrix.access_token", sealer: wrong)
            }
            #expect(refused?.code == .cannotOpen)
        }
    }

    @Test func sealerRejectsTamperingShortKeysAndReadsTheKeyFromTheEnvironment() throws {
        let sealer = try StateSealer(keyMaterial: "0123456789abcdef-key")
        let sealed = try sealer.seal("secret value")
        #expect(try sealer.open(sealed) == "secret value")
        #expect(try sealer.seal("secret value") != sealed, "a fresh nonce each time")
        var bytes = [UInt8](Data(base64Encoded: String(sealed.dropFirst(StateSealer.prefix.count)))!)
        bytes[14] ^= 1
        #expect(throws: StateSealerError.self) { _ = try sealer.open(StateSealer.prefix + Data(bytes).base64EncodedString()) }
        #expect(throws: StateSealerError.self) { _ = try StateSealer(keyMaterial: "short") }
        #expect(try StateSealer.fromEnvironment([:]) == nil)
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("pb-key-\(UUID().uuidString)")
        try "0123456789abcdef-key\n".write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let fromFile = try #require(try StateSealer.fromEnvironment(["PB_STATE_KEY_FILE": file.path]))
        #expect(try fromFile.open(sealed) == "secret value", "the same key from a file opens it")
        #expect(try StateSealer.fromEnvironment(["PB_STATE_KEY": "0123456789abcdef-key"])?.open(sealed) == "secret value")
    }
}

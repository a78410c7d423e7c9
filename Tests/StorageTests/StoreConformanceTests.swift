import Foundation
import Storage
import Testing

/// The backend-independent storage suite: every test runs against each `StoreBackend`.
@Suite("Store conformance")
struct StoreConformanceTests {
    // MARK: History

    @Test("history comes back in time order, newest N, and after a row id", arguments: StoreBackend.all)
    func historyOrder(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store in
            // Inserted out of time order on purpose.
            try await store.insert(humanMessage("m3", at: 3_000))
            try await store.insert(humanMessage("m1", at: 1_000))
            let second = try await store.insert(humanMessage("m2", at: 2_000))
            try await store.insert(humanMessage("m4", at: 4_000))
            try await store.insert(humanMessage("other", in: random, at: 1_500))

            let all = try await store.recentMessages(in: general, limit: 100)
            #expect(all.map(\.messageID) == ["m1", "m2", "m3", "m4"])
            #expect(try await store.messageCount(in: general) == 4)

            let lastTwo = try await store.recentMessages(in: general, limit: 2)
            #expect(lastTwo.map(\.messageID) == ["m3", "m4"])

            let afterSecond = try await store.recentMessages(in: general, limit: 100, after: second.rowID)
            #expect(Set(afterSecond.map(\.messageID)) == ["m4"], "only m4 was inserted after m2")

            #expect(try await store.recentMessages(in: general, limit: 0).isEmpty)
            let unknown = ChannelKey(platform: "irc", serverID: "libera", channelID: "#none")
            #expect(try await store.recentMessages(in: unknown, limit: 10).isEmpty)
            #expect(try await store.messageCount(in: unknown) == 0)

            let error = await #expect(throws: StorageError.self) {
                try await store.recentMessages(in: general, limit: -1)
            }
            #expect(error?.code == .invalidArgument)
        }
    }

    @Test("every field round-trips, including an unknown speaker kind", arguments: StoreBackend.all)
    func fieldsRoundTrip(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store in
            let persona = StoredMessage(
                channel: general, messageID: "p1", speakerID: "bot-9", speakerName: "Captain Vex",
                kind: .persona, personaName: "vex", text: "Ahoy, \"friends\" 🏴‍☠️\nline two",
                timestamp: at(1_700_000_000_123), replyToID: "m0", isEdited: true)
            let future = StoredMessage(
                channel: general, messageID: "f1", speakerID: "x", speakerName: "X",
                kind: .unknown("webhook_relay"), text: "hi", timestamp: at(1_700_000_000_124))
            let inserted = try await store.insert(persona)
            try await store.insert(future)

            var expected = persona
            expected.rowID = inserted.rowID
            #expect(try await store.message(in: general, messageID: "p1") == expected)
            let stored = try #require(try await store.message(in: general, messageID: "f1"))
            #expect(stored.kind == .unknown("webhook_relay"))
            #expect(stored.kind.rawValue == "webhook_relay")
            #expect(SpeakerKind(rawValue: "other_persona") == .otherPersona)

            // The server id is part of the channel's identity; "" means no server.
            let noServer = ChannelKey(platform: "discord", serverID: "", channelID: "general")
            #expect(noServer.serverID == nil)
            #expect(try await store.message(in: noServer, messageID: "p1") == nil)
        }
    }

    @Test("a batch stores every field as a single insert does: nulls, empty and non-ASCII text", arguments: StoreBackend.all)
    func batchFieldsRoundTrip(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store in
            let messages = [
                StoredMessage(channel: general, messageID: "p1", speakerID: "bot-9", speakerName: "Captain Vex",
                              kind: .persona, personaName: "vex", text: "Ahoy, \"friends\" 🏴‍☠️\nline two",
                              timestamp: at(1_700_000_000_123), replyToID: "m0", isEdited: true),
                StoredMessage(channel: general, messageID: "e1", speakerID: "", speakerName: "", kind: .human, text: "",
                              timestamp: at(1_700_000_000_124)),
                StoredMessage(channel: random, messageID: "f1", speakerID: "x", speakerName: "Zoë ✨",
                              kind: .unknown("webhook_relay"), text: String(repeating: "long chatter ", count: 400),
                              timestamp: at(1_700_000_000_125)),
            ]
            let results = try await store.insert(contentsOf: messages)
            #expect(results.map(\.inserted) == [true, true, true])
            for (message, result) in zip(messages, results) {
                var expected = message
                expected.rowID = result.rowID
                #expect(try await store.message(in: message.channel, messageID: message.messageID) == expected)
            }
            // Again in one batch: nothing changes, and each result names the stored row.
            let again = try await store.insert(contentsOf: messages)
            #expect(again.map(\.inserted) == [false, false, false])
            #expect(again.map(\.rowID) == results.map(\.rowID))
        }
    }

    @Test("inserting the same platform message twice changes nothing", arguments: StoreBackend.all)
    func idempotentInsert(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store in
            let first = try await store.insert(humanMessage("m1", text: "original", at: 1_000))
            let again = try await store.insert(humanMessage("m1", text: "replayed", at: 9_000))
            #expect(first.inserted)
            #expect(!again.inserted)
            #expect(again.rowID == first.rowID)
            #expect(try await store.message(in: general, messageID: "m1")?.text == "original")
            #expect(try await store.messageCount(in: general) == 1)

            // The same id in another channel is another message.
            #expect(try await store.insert(humanMessage("m1", in: random, at: 1_000)).inserted)

            let batch = try await store.insert(contentsOf: [
                humanMessage("m2", at: 2_000), humanMessage("m1", at: 1_000), humanMessage("m2", at: 2_000),
            ])
            #expect(batch.map(\.inserted) == [true, false, false])
            #expect(batch[0].rowID == batch[2].rowID)
            #expect(try await store.messageCount(in: general) == 2)
            #expect(try await store.insert(contentsOf: []).isEmpty)
        }
    }

    @Test("edits replace text, stale edits and unknown messages are ignored", arguments: StoreBackend.all)
    func edits(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store in
            try await store.insert(humanMessage("m1", text: "helo", at: 1_000))
            #expect(try await store.applyEdit(in: general, messageID: "m1", newText: "hello", editedAt: at(5_000)))
            var stored = try #require(try await store.message(in: general, messageID: "m1"))
            #expect(stored.text == "hello")
            #expect(stored.isEdited)
            #expect(stored.timestamp == at(1_000), "an edit keeps the message's place in history")

            // An older edit delivered late must not win.
            #expect(!(try await store.applyEdit(in: general, messageID: "m1", newText: "helo!", editedAt: at(4_000))))
            stored = try #require(try await store.message(in: general, messageID: "m1"))
            #expect(stored.text == "hello")

            #expect(!(try await store.applyEdit(in: general, messageID: "nope", newText: "x", editedAt: at(5_000))))
            #expect(!(try await store.applyEdit(in: random, messageID: "m1", newText: "x", editedAt: at(5_000))))
        }
    }

    @Test("deletions remove a message for good, even if it is replayed", arguments: StoreBackend.all)
    func deletions(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store in
            try await store.insert(humanMessage("m1", at: 1_000))
            try await store.insert(humanMessage("m2", text: "secret", at: 2_000))
            #expect(try await store.applyDeletion(in: general, messageID: "m2", deletedAt: at(3_000)))
            #expect(!(try await store.applyDeletion(in: general, messageID: "m2", deletedAt: at(3_000))))
            #expect(!(try await store.applyDeletion(in: general, messageID: "unknown", deletedAt: at(3_000))))

            #expect(try await store.message(in: general, messageID: "m2") == nil)
            #expect(try await store.recentMessages(in: general, limit: 10).map(\.messageID) == ["m1"])
            #expect(try await store.messageCount(in: general) == 1)

            // A resumed connection replaying the create event must not bring it back.
            #expect(!(try await store.insert(humanMessage("m2", text: "secret", at: 2_000)).inserted))
            #expect(try await store.messageCount(in: general) == 1)
            #expect(!(try await store.applyEdit(in: general, messageID: "m2", newText: "x", editedAt: at(4_000))))
        }
    }

    @Test("forget N drops the newest messages and reset drops the rest", arguments: StoreBackend.all)
    func resetAndForget(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store in
            for index in 1...5 {
                try await store.insert(humanMessage("m\(index)", at: Int64(index) * 1_000))
            }
            try await store.insert(humanMessage("r1", in: random, at: 1_000))
            #expect(try await store.claimAnswer(channel: general, messageID: "m1"))

            #expect(try await store.forgetLast(2, in: general) == 2)
            #expect(try await store.recentMessages(in: general, limit: 10).map(\.messageID) == ["m1", "m2", "m3"])
            #expect(try await store.forgetLast(0, in: general) == 0)
            let error = await #expect(throws: StorageError.self) {
                try await store.forgetLast(-1, in: general)
            }
            #expect(error?.code == .invalidArgument)

            #expect(try await store.resetHistory(in: general) == 3)
            #expect(try await store.messageCount(in: general) == 0)
            #expect(try await store.forgetLast(5, in: general) == 0)
            #expect(try await store.messageCount(in: random) == 1, "other channels are untouched")
            #expect(try await store.isAnswered(channel: general, messageID: "m1"), "a reset keeps claims")

            // New messages after a reset are history again.
            try await store.insert(humanMessage("m6", at: 6_000))
            #expect(try await store.recentMessages(in: general, limit: 10).map(\.messageID) == ["m6"])
        }
    }

    // MARK: Replies

    @Test("reply records track their messages and regenerate removes them", arguments: StoreBackend.all)
    func replies(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store in
            try await store.insert(humanMessage("q1", at: 1_000))
            let answer = StoredMessage(channel: general, messageID: "a1", speakerID: "bot", speakerName: "Vex",
                                       kind: .persona, personaName: "vex", text: "part one", timestamp: at(2_000))
            var answer2 = answer
            answer2.messageID = "a2"
            answer2.text = "part two"
            answer2.timestamp = at(2_001)
            try await store.insert(contentsOf: [answer, answer2])

            var reply = ReplyRecord(replyID: "r-1", channel: general, personaName: "vex", triggerMessageID: "q1",
                                    messageIDs: ["a1"], createdAt: at(2_000))
            try await store.recordReply(reply)
            reply.messageIDs.append("a2")
            reply.wasCutOff = true
            try await store.recordReply(reply)
            #expect(try await store.reply(id: "r-1") == reply)

            let other = ReplyRecord(replyID: "r-2", channel: general, personaName: "mira", triggerMessageID: nil,
                                    messageIDs: [], createdAt: at(3_000))
            try await store.recordReply(other)
            #expect(try await store.lastReply(in: general) == other)
            #expect(try await store.lastReply(in: general, persona: "vex") == reply)
            #expect(try await store.lastReply(in: general, persona: "nobody") == nil)
            #expect(try await store.lastReply(in: random) == nil)

            let removed = try await store.removeReply(id: "r-1")
            #expect(removed == reply)
            #expect(try await store.reply(id: "r-1") == nil)
            #expect(try await store.recentMessages(in: general, limit: 10).map(\.messageID) == ["q1"])
            #expect(try await store.removeReply(id: "r-1") == nil)
            #expect(try await store.lastReply(in: general, persona: "vex") == nil)
        }
    }

    // MARK: Claims

    @Test("the first claim wins; release allows a new claim", arguments: StoreBackend.all)
    func claims(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store in
            #expect(!(try await store.isAnswered(channel: general, messageID: "m1")))
            #expect(try await store.claimAnswer(channel: general, messageID: "m1"))
            #expect(!(try await store.claimAnswer(channel: general, messageID: "m1")))
            #expect(try await store.isAnswered(channel: general, messageID: "m1"))
            #expect(try await store.claimAnswer(channel: random, messageID: "m1"), "claims are per channel")

            try await store.releaseAnswer(channel: general, messageID: "m1")
            #expect(!(try await store.isAnswered(channel: general, messageID: "m1")))
            #expect(try await store.claimAnswer(channel: general, messageID: "m1"))
            try await store.releaseAnswer(channel: general, messageID: "never-claimed")
        }
    }

    @Test("50 concurrent claims of one message: exactly one wins", arguments: StoreBackend.all)
    func concurrentClaims(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store in
            let wins = try await withThrowingTaskGroup(of: Bool.self) { group in
                for _ in 0..<50 {
                    group.addTask { try await store.claimAnswer(channel: general, messageID: "hot") }
                }
                var wins = 0
                for try await won in group where won { wins += 1 }
                return wins
            }
            #expect(wins == 1)
        }
    }

    @Test("two stores on one database (two processes): exactly one claim wins", arguments: StoreBackend.persistent)
    func claimsAcrossStores(_ backend: StoreBackend) async throws {
        try await withFixture(backend) { fixture in
            let first = try await fixture.open()
            let second = try await fixture.open()
            let stores = [first, second]
            let wins: Int
            do {
                wins = try await withThrowingTaskGroup(of: Bool.self) { group in
                    for index in 0..<40 {
                        let store = stores[index % 2]
                        group.addTask { try await store.claimAnswer(channel: general, messageID: "shared") }
                    }
                    var wins = 0
                    for try await won in group where won { wins += 1 }
                    return wins
                }
            } catch {
                try? await first.close()
                try? await second.close()
                throw error
            }
            try await first.close()
            try await second.close()
            #expect(wins == 1)
        }
    }

    @Test("two stores on one database see each other's writes; settings updates lose nothing",
          arguments: StoreBackend.persistent)
    func sharedDatabase(_ backend: StoreBackend) async throws {
        try await withFixture(backend) { fixture in
            let first = try await fixture.open()
            let second = try await fixture.open()
            do {
                try await first.setChannelSettings(ChannelSettings(personas: []), for: general)
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for index in 0..<20 {
                        let store = index.isMultiple(of: 2) ? first : second
                        group.addTask {
                            try await store.updateChannelSettings(for: general) { $0.personas?.append("p\(index)") }
                        }
                    }
                    try await group.waitForAll()
                }
                let personas = try await second.channelSettings(for: general)?.personas ?? []
                #expect(Set(personas) == Set((0..<20).map { "p\($0)" }))
                #expect(personas.count == 20)

                #expect(try await first.claimAnswer(channel: general, messageID: "m1"))
                #expect(try await second.isAnswered(channel: general, messageID: "m1"))
                try await second.insert(humanMessage("m1", at: 1_000))
                #expect(try await first.recentMessages(in: general, limit: 5).map(\.messageID) == ["m1"])
            } catch {
                try? await first.close()
                try? await second.close()
                throw error
            }
            try await first.close()
            try await second.close()
        }
    }

    @Test("claims, settings, personas and state survive a restart", arguments: StoreBackend.persistent)
    func survivesRestart(_ backend: StoreBackend) async throws {
        try await withFixture(backend) { fixture in
            var scene = ChannelSettings(personas: ["vex", "mira"], personaOff: false, talkativeness: 0.25,
                                        triggerMode: "probability", cooldownSeconds: 12.5, maxBotTurns: 3,
                                        respondToBots: true, updatedBy: "mod-1", updatedAt: at(1_234))
            // The scene's activation and muted personas (migration v4-scene-activation) are kept too.
            scene.activation = "pooled"
            scene.mutedPersonas = ["mira"]
            let settings = scene
            try await withOpenStore(fixture) { store async throws in
                #expect(try await store.claimAnswer(channel: general, messageID: "m1"))
                try await store.insert(humanMessage("m1", at: 1_000))
                try await store.setChannelSettings(settings, for: general)
                try await store.setUserPersona("A tired night-shift nurse.", platform: "discord", userID: "u1")
                try await store.setState("s_123_456", for: "matrix.sync-token")
            }
            try await withOpenStore(fixture) { store async throws in
                #expect(!(try await store.claimAnswer(channel: general, messageID: "m1")),
                        "a message answered before the restart must not be answered again")
                #expect(try await store.isAnswered(channel: general, messageID: "m1"))
                #expect(try await store.recentMessages(in: general, limit: 5).map(\.messageID) == ["m1"])
                #expect(try await store.channelSettings(for: general) == settings)
                #expect(try await store.userPersona(platform: "discord", userID: "u1") == "A tired night-shift nurse.")
                #expect(try await store.state(for: "matrix.sync-token") == "s_123_456")
            }
        }
    }

    // MARK: Settings, personas, state

    @Test("channel settings: get, put, atomic update, list", arguments: StoreBackend.all)
    func channelSettings(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store in
            #expect(try await store.channelSettings(for: general) == nil)
            #expect(try await store.allChannelSettings().isEmpty)

            try await store.setChannelSettings(ChannelSettings(personas: ["vex"]), for: general)
            #expect(try await store.channelSettings(for: general) == ChannelSettings(personas: ["vex"]))

            // persona add, done as concurrent read-modify-write, loses nothing.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for name in ["a", "b", "c", "d", "e"] {
                    group.addTask {
                        try await store.updateChannelSettings(for: general) { $0.personas?.append(name) }
                    }
                }
                try await group.waitForAll()
            }
            let personas = try #require(try await store.channelSettings(for: general)?.personas)
            #expect(personas.first == "vex")
            #expect(Set(personas) == ["vex", "a", "b", "c", "d", "e"])

            let off = try await store.updateChannelSettings(for: random) { $0.personaOff = true }
            #expect(off == ChannelSettings(personaOff: true))
            // An empty list is different from "no override".
            try await store.setChannelSettings(ChannelSettings(personas: []), for: general)
            let all = try await store.allChannelSettings()
            #expect(all == [general: ChannelSettings(personas: []), random: ChannelSettings(personaOff: true)])

            struct Refused: Error {}
            await #expect(throws: Refused.self) {
                try await store.updateChannelSettings(for: random) { settings in
                    settings.talkativeness = 1
                    throw Refused()
                }
            }
            #expect(try await store.channelSettings(for: random)?.talkativeness == nil, "a failed update changes nothing")
        }
    }

    @Test("user personas and key/value state: set, replace, remove", arguments: StoreBackend.all)
    func userPersonasAndState(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store in
            #expect(try await store.userPersona(platform: "irc", userID: "alice") == nil)
            try await store.setUserPersona("A wandering bard.", platform: "irc", userID: "alice")
            try await store.setUserPersona("A retired pirate.", platform: "irc", userID: "alice")
            try await store.setUserPersona("Someone else.", platform: "matrix", userID: "alice")
            #expect(try await store.userPersona(platform: "irc", userID: "alice") == "A retired pirate.")
            #expect(try await store.userPersona(platform: "matrix", userID: "alice") == "Someone else.")
            try await store.setUserPersona(nil, platform: "irc", userID: "alice")
            #expect(try await store.userPersona(platform: "irc", userID: "alice") == nil)

            #expect(try await store.state(for: "discord.webhook.general") == nil)
            try await store.setState("1234/abcd", for: "discord.webhook.general")
            try await store.setState("5678/efgh", for: "discord.webhook.general")
            #expect(try await store.state(for: "discord.webhook.general") == "5678/efgh")
            try await store.setState(nil, for: "discord.webhook.general")
            #expect(try await store.state(for: "discord.webhook.general") == nil)
        }
    }

    @Test("several key/value states in one call: set, replace and remove together", arguments: StoreBackend.all)
    func severalStatesAtOnce(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store in
            try await store.setStates([(key: "discord.last_seen.1", value: "100"), (key: "discord.last_seen.2", value: "200")])
            #expect(try await store.state(for: "discord.last_seen.1") == "100")
            #expect(try await store.state(for: "discord.last_seen.2") == "200")
            try await store.setStates([(key: "discord.last_seen.1", value: "101"), (key: "discord.last_seen.2", value: nil),
                                       (key: "discord.last_seen.3", value: "300")])
            #expect(try await store.state(for: "discord.last_seen.1") == "101")
            #expect(try await store.state(for: "discord.last_seen.2") == nil)
            #expect(try await store.state(for: "discord.last_seen.3") == "300")
            try await store.setStates([])
            #expect(try await store.state(for: "discord.last_seen.3") == "300")
        }
    }

    // MARK: Maintenance

    @Test("migrations are recorded and reopening applies none", arguments: StoreBackend.all)
    func migrationsRecorded(_ backend: StoreBackend) async throws {
        try await withFixture(backend) { fixture in
            var firstList: [String] = []
            try await withOpenStore(fixture) { store async throws in
                firstList = try await store.appliedMigrations()
                #expect(firstList.first == "v1-initial-schema")
                #expect(firstList.allSatisfy { $0.hasPrefix("v") && $0.contains("-") })
            }
            if backend.persists {
                try await withOpenStore(fixture) { store async throws in
                    #expect(try await store.appliedMigrations() == firstList)
                }
            }
        }
    }

    @Test("integrity check passes on a used store", arguments: StoreBackend.all)
    func integrityCheck(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store in
            try await store.insert(humanMessage("m1", at: 1_000))
            #expect(try await store.claimAnswer(channel: general, messageID: "m1"))
            try await store.applyDeletion(in: general, messageID: "m1")
            try await store.integrityCheck()
        }
    }

    @Test("a closed store refuses work with .closed; closing twice is harmless", arguments: StoreBackend.all)
    func closedStore(_ backend: StoreBackend) async throws {
        try await withFixture(backend) { fixture in
            let store = try await fixture.open()
            try await store.close()
            try await store.close()
            let error = await #expect(throws: StorageError.self) {
                try await store.claimAnswer(channel: general, messageID: "m1")
            }
            #expect(error?.code == .closed)
        }
    }

    @Test("10,000 messages, then the last 200", arguments: StoreBackend.all)
    func largeHistory(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store in
            let messages = (0..<10_000).map { index in
                humanMessage("m\(index)", text: "message number \(index) with some words in it",
                             at: 1_700_000_000_000 + Int64(index), speaker: "u\(index % 7)")
            }
            for start in stride(from: 0, to: messages.count, by: 1_000) {
                try await store.insert(contentsOf: Array(messages[start..<start + 1_000]))
            }
            #expect(try await store.messageCount(in: general) == 10_000)
            let last = try await store.recentMessages(in: general, limit: 200)
            #expect(last.count == 200)
            #expect(last.first?.messageID == "m9800")
            #expect(last.last?.messageID == "m9999")
        }
    }
}

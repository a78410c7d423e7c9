import Foundation
import Storage
import Testing

/// Scene memory (summaries, pinned facts, the summarised-through cursor), against every backend.
@Suite("Store conformance: scene memory")
struct StoreMemoryConformanceTests {
    @Test("spans between row ids, summaries moving the cursor, pinned facts, forget", arguments: StoreBackend.all)
    func memoryRoundTrip(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store in
            #expect(try await store.sceneMemory(in: general) == SceneMemory())
            var rows: [Int64] = []
            for index in 1...6 {
                rows.append(try await store.insert(humanMessage("m\(index)", text: "line \(index)", at: Int64(index) * 1_000)).rowID)
            }
            try await store.insert(humanMessage("other", in: random, at: 1_500))
            try await store.applyDeletion(in: general, messageID: "m3")
            // Live messages strictly between the row ids, oldest first, limited.
            let span = try await store.messages(in: general, after: rows[0], before: rows[5], limit: 10)
            #expect(span.map(\.messageID) == ["m2", "m4", "m5"])
            #expect(span.first?.rowID == rows[1])
            #expect(try await store.messages(in: general, after: 0, before: rows[5], limit: 2).map(\.messageID) == ["m1", "m2"])
            #expect(try await store.messages(in: general, after: rows[5], before: rows[0], limit: 10).isEmpty)

            let fact = try await store.addPinnedFact("The key is under the blue stone.", by: "u-mod", in: general)
            #expect(fact.kind == .pinned && fact.createdBy == "u-mod")
            #expect(try await store.appendMemorySummary(
                MemorySummaryDraft(text: "Alice said lines 1 and 2.", firstMessageRowID: rows[0], lastMessageRowID: rows[1]),
                in: general, expectedCursor: 0))
            // A writer that still thinks nothing is summarised loses: the span is never summarised twice.
            #expect(try await !store.appendMemorySummary(
                MemorySummaryDraft(text: "duplicate", firstMessageRowID: rows[0], lastMessageRowID: rows[1]),
                in: general, expectedCursor: 0))
            #expect(try await store.appendMemorySummary(
                MemorySummaryDraft(text: "Alice said 4 and 5.", firstMessageRowID: rows[3], lastMessageRowID: rows[4]),
                in: general, expectedCursor: rows[1]))
            // An empty summary (a span of deleted messages) only moves the cursor.
            #expect(try await store.appendMemorySummary(
                MemorySummaryDraft(text: "", firstMessageRowID: rows[5], lastMessageRowID: rows[5]), in: general, expectedCursor: rows[4]))

            var memory = try await store.sceneMemory(in: general)
            #expect(memory.summarizedThrough == rows[5])
            #expect(memory.entries.map(\.text) == ["The key is under the blue stone.", "Alice said lines 1 and 2.", "Alice said 4 and 5."])
            #expect(memory.pinned.map(\.text) == ["The key is under the blue stone."])
            #expect(memory.summaries.map(\.lastMessageRowID) == [rows[1], rows[4]])
            #expect(try await store.sceneMemory(in: random) == SceneMemory(), "memory belongs to one scene")

            // Folding replaces the summaries with one in the oldest one's place; pinned facts are untouched.
            let ids = memory.summaries.map(\.id)
            #expect(try await store.foldMemorySummaries(ids, into: "Alice said 1, 2, 4 and 5.", in: general))
            memory = try await store.sceneMemory(in: general)
            #expect(memory.entries.map(\.text) == ["The key is under the blue stone.", "Alice said 1, 2, 4 and 5."])
            #expect(memory.summaries.first?.id == ids.min())
            #expect(memory.summaries.first?.firstMessageRowID == rows[0])
            #expect(memory.summaries.first?.lastMessageRowID == rows[4])
            // A fold naming a summary that is gone changes nothing.
            #expect(try await !store.foldMemorySummaries(ids, into: "lost", in: general))
            #expect(try await !store.foldMemorySummaries([fact.id], into: "pinned facts never fold", in: general))
            #expect(try await store.sceneMemory(in: general) == memory)

            #expect(try await store.forgetMemory(in: general) == 2)
            memory = try await store.sceneMemory(in: general)
            #expect(memory.entries.isEmpty)
            #expect(memory.summarizedThrough == rows[5], "forgetting memory keeps the cursor: old history is not summarised again")
            #expect(try await store.forgetMemory(in: ChannelKey(platform: "irc", serverID: nil, channelID: "#none")) == 0)
        }
    }

    @Test("two stores racing to summarise one span: exactly one summary is kept", arguments: StoreBackend.persistent)
    func racingSummaries(_ backend: StoreBackend) async throws {
        try await withFixture(backend) { fixture in
            let first = try await fixture.open()
            let second = try await fixture.open()
            do {
                let row = try await first.insert(humanMessage("m1", at: 1_000)).rowID
                let wins = try await withThrowingTaskGroup(of: Bool.self) { group in
                    for index in 0..<10 {
                        let store = index.isMultiple(of: 2) ? first : second
                        group.addTask {
                            try await store.appendMemorySummary(
                                MemorySummaryDraft(text: "s\(index)", firstMessageRowID: row, lastMessageRowID: row),
                                in: general, expectedCursor: 0)
                        }
                    }
                    return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
                }
                #expect(wins == 1)
                #expect(try await second.sceneMemory(in: general).summaries.count == 1)
            } catch {
                try? await first.close()
                try? await second.close()
                throw error
            }
            try await first.close()
            try await second.close()
        }
    }
}

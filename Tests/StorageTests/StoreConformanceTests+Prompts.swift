import Foundation
import Storage
import Testing

/// Prompt records and reply alternatives, against every backend.
@Suite("Store conformance: prompts and alternatives")
struct StorePromptConformanceTests {
    @Test("prompt records come back newest first and only the last N per channel are kept", arguments: StoreBackend.all)
    func promptRecords(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store in
            let base = Date(timeIntervalSince1970: 1_700_000_000)
            for index in 1...5 {
                try await store.recordPrompt(PromptRecord(
                    requestID: "r\(index)", channel: general, replyID: "m\(index)", personaName: "aria",
                    createdAt: base.addingTimeInterval(Double(index)), document: "{\"n\":\(index)}"), keepingLast: 3)
            }
            try await store.recordPrompt(PromptRecord(requestID: "other", channel: random, replyID: nil, personaName: "aria",
                                                      createdAt: base, document: "{}"), keepingLast: 3)
            let records = try await store.promptRecords(in: general, limit: 10)
            #expect(records.map(\.requestID) == ["r5", "r4", "r3"])
            #expect(records.first?.document == "{\"n\":5}")
            #expect(records.first?.replyID == "m5")
            #expect(try await store.promptRecords(in: general, limit: 1).map(\.requestID) == ["r5"])
            #expect(try await store.promptRecords(in: random, limit: 10).map(\.replyID) == [nil])
            // Replacing a record (the reply's id became known) keeps one row.
            try await store.recordPrompt(PromptRecord(requestID: "r5", channel: general, replyID: "m5b", personaName: "aria",
                                                      createdAt: base.addingTimeInterval(5), document: "{}"), keepingLast: 3)
            #expect(try await store.promptRecords(in: general, limit: 10).map(\.replyID) == ["m5b", "m4", "m3"])
        }
    }

    @Test("reply alternatives are stored, replaced, capped at ten and removed", arguments: StoreBackend.all)
    func alternatives(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store in
            #expect(try await store.replyAlternatives(in: general, replyID: "m1") == nil)
            try await store.setReplyAlternatives(ReplyAlternatives(channel: general, replyID: "m1", texts: ["a", "b"], shown: 1))
            #expect(try await store.replyAlternatives(in: general, replyID: "m1")?.texts == ["a", "b"])
            #expect(try await store.replyAlternatives(in: general, replyID: "m1")?.shownText == "b")
            let many = ReplyAlternatives(channel: general, replyID: "m1", texts: (1...12).map { "t\($0)" }, shown: 11)
            #expect(many.texts.count == ReplyAlternatives.limit)
            #expect(many.texts.first == "t3")
            #expect(many.shownText == "t12")
            try await store.setReplyAlternatives(many)
            let back = try await store.replyAlternatives(in: general, replyID: "m1")
            #expect(back?.texts.count == 10)
            #expect(back?.shown == 9)
            #expect(try await store.replyAlternatives(in: random, replyID: "m1") == nil)
            #expect(try await store.removeReplyAlternatives(in: general, replyID: "m1"))
            #expect(try await !store.removeReplyAlternatives(in: general, replyID: "m1"))
            #expect(try await store.replyAlternatives(in: general, replyID: "m1") == nil)
        }
    }
}

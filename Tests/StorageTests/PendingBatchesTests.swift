import Testing

@testable import Storage

@Suite("Pending batches")
struct PendingBatchesTests {
    @Test("messages come out in order, in batches of at most maxBatch, whatever is appended meanwhile")
    func batchesInOrder() {
        var pending = PendingBatches(maxBatch: 4)
        #expect(pending.isEmpty && pending.takeBatch().isEmpty)
        for index in 0..<10 { pending.append(humanMessage("m\(index)", at: Int64(index))) }
        #expect(pending.count == 10)
        #expect(pending.takeBatch().map(\.messageID) == ["m0", "m1", "m2", "m3"])
        pending.append(humanMessage("m10", at: 10))
        #expect(pending.count == 7)
        #expect(pending.takeBatch().map(\.messageID) == ["m4", "m5", "m6", "m7"])
        // The last batch was not full: the new message joins it.
        #expect(pending.takeBatch().map(\.messageID) == ["m8", "m9", "m10"])
        #expect(pending.isEmpty && pending.count == 0)
        pending.append(humanMessage("m11", at: 11))
        #expect(pending.takeBatch().map(\.messageID) == ["m11"])
    }
}

/// Messages waiting for the history writer, kept as the batches they will be written in.
///
/// One flat buffer made every batch under a flood a copy of its first `maxBatch` messages and a shift of all the
/// rest (thousands of messages, each retained and moved); here a batch is taken whole, with nothing copied.
struct PendingBatches {
    private var batches: [[StoredMessage]] = []
    private let maxBatch: Int
    private let reserve: Int
    /// Messages waiting, in all batches.
    private(set) var count = 0

    /// Creates an empty buffer of batches of at most `maxBatch`, each started with room for `reserving` messages
    /// (the size a batch usually reaches before it is written).
    init(maxBatch: Int, reserving: Int = 1_024) {
        self.maxBatch = max(1, maxBatch)
        reserve = min(self.maxBatch, max(1, reserving))
    }

    /// Whether nothing waits.
    var isEmpty: Bool { count == 0 }

    /// Adds a message after every other.
    mutating func append(_ message: StoredMessage) {
        if let last = batches.indices.last, batches[last].count < maxBatch {
            batches[last].append(message)
        } else {
            // Room for the batch the writer usually takes at once: grown by doubling, a flood's batch was
            // reallocated and copied ten times on its way to 512 messages. Only a writer that fell behind lets one
            // grow past it (twice more on its way to 2,048).
            var batch: [StoredMessage] = []
            batch.reserveCapacity(reserve)
            batch.append(message)
            batches.append(batch)
        }
        count += 1
    }

    /// Takes the oldest batch (at most `maxBatch` messages, in order); empty when nothing waits.
    mutating func takeBatch() -> [StoredMessage] {
        guard !batches.isEmpty else { return [] }
        let batch = batches.removeFirst()
        count -= batch.count
        return batch
    }
}

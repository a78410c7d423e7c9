import BridgeCore

/// Which `/sync` batches Core has finished handling, so `next_batch` is stored only once every event of
/// that batch (and of every batch before it) was handled: a restart then replays what was unhandled
/// (Core's claims make a replay harmless) and never skips it.
struct MatrixBatchLedger: Sendable {
    private struct Batch: Sendable {
        let token: String
        var unhandled: [PlatformEvent: Int]
    }

    private var batches: [Batch] = []
    private var committable: String?

    /// Records a batch as it is handed to Core.
    mutating func received(token: String, events: [PlatformEvent]) {
        var unhandled: [PlatformEvent: Int] = [:]
        for event in events { unhandled[event, default: 0] += 1 }
        batches.append(Batch(token: token, unhandled: unhandled))
        settle()
    }

    /// Marks one event handled; events are matched to the oldest batch that still holds them.
    mutating func handled(_ event: PlatformEvent) {
        guard let index = batches.firstIndex(where: { $0.unhandled[event] != nil }) else { return }
        if batches[index].unhandled[event] == 1 {
            batches[index].unhandled[event] = nil
        } else {
            batches[index].unhandled[event]! -= 1
        }
        settle()
    }

    /// The newest token whose batch and all earlier ones are handled, once; `nil` if nothing new.
    mutating func takeCommit() -> String? {
        defer { committable = nil }
        return committable
    }

    /// Batches handed to Core but not fully handled yet.
    var pendingBatches: Int { batches.count }

    private mutating func settle() {
        while let first = batches.first, first.unhandled.isEmpty {
            committable = first.token
            batches.removeFirst()
        }
    }
}

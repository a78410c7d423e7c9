import Synchronization

/// Counts events taken from a platform but not yet handled and makes the reader wait at a limit,
/// so a slow consumer pushes back on the platform stream instead of letting queues grow.
final class BacklogGate: Sendable {
    private struct State {
        var depth = 0
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let limit: Int
    private let report: @Sendable (Int) -> Void
    private let state = Mutex(State())

    /// `report` receives the depth after each change (for the queue-depth gauge).
    init(limit: Int, report: @escaping @Sendable (Int) -> Void) {
        self.limit = max(1, limit)
        self.report = report
    }

    /// The events in the backlog now.
    var depth: Int { state.withLock { $0.depth } }

    /// Takes a place if one is free now, without waiting.
    func tryEnter() -> Bool {
        let depth = state.withLock { s -> Int? in
            guard s.depth < limit else { return nil }
            s.depth += 1
            return s.depth
        }
        guard let depth else { return false }
        report(depth)
        return true
    }

    /// Takes a place in the backlog, waiting while it is full.
    func enter() async {
        while true {
            let depth = state.withLock { s -> Int? in
                guard s.depth < limit else { return nil }
                s.depth += 1
                return s.depth
            }
            if let depth {
                report(depth)
                return
            }
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { s -> Bool in
                    if s.depth < limit { return true }
                    s.waiters.append(continuation)
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        }
    }

    /// Gives a place back once its event is handled; waiting readers are woken once the backlog is down to half
    /// the limit, so a reader that is always ahead takes events in runs instead of one task switch per event.
    func leave() {
        let (depth, waiters) = state.withLock { s -> (Int, [CheckedContinuation<Void, Never>]) in
            s.depth -= 1
            guard !s.waiters.isEmpty, s.depth <= limit / 2 else { return (s.depth, []) }
            defer { s.waiters.removeAll(keepingCapacity: true) }
            return (s.depth, s.waiters)
        }
        report(depth)
        for waiter in waiters { waiter.resume() }
    }
}

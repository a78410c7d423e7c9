/// Counts the replies running in each channel, so a command that acts on "the last reply" (regenerate,
/// continue) waits until replies started before it have finished and been recorded.
actor ReplyTracker {
    private var running: [String: Int] = [:]
    private var waiters: [String: [CheckedContinuation<Void, Never>]] = [:]

    /// A reply in `channel` was claimed and will run.
    func begin(_ channel: String) {
        running[channel, default: 0] += 1
    }

    /// A reply in `channel` ended (recorded, failed or interrupted).
    func end(_ channel: String) {
        let left = (running[channel] ?? 1) - 1
        guard left <= 0 else {
            running[channel] = left
            return
        }
        running[channel] = nil
        for waiter in waiters.removeValue(forKey: channel) ?? [] { waiter.resume() }
    }

    /// Whether no reply runs in any channel (tests wait for it before checking that nothing else was sent).
    var isIdle: Bool { running.isEmpty }

    /// Returns once no reply runs in `channel`.
    func waitUntilIdle(_ channel: String) async {
        guard running[channel] != nil else { return }
        await withCheckedContinuation { waiters[channel, default: []].append($0) }
    }
}

/// Decides when each scene's memory work runs: never twice at once for one scene, a request during a run makes one
/// more run after it, a failed run is tried again after a growing delay, and only a few scenes run at a time.
///
/// Pure: `MemorySummarizer` feeds it requests, finished runs and the clock, and starts what it returns.
struct MemoryScheduler: Sendable {
    /// How a run ended.
    enum Outcome: Hashable, Sendable {
        /// Everything due was done (or nothing was due).
        case done
        /// The model or the store failed, or a budget refused: nothing was lost, try again later.
        case failed
        /// A run did its share of steps and more is due: run again when a slot is free.
        case more
    }

    private struct Scene: Sendable {
        var running = false
        var wanted = false
        var retryAt: Duration?
        var failures = 0
    }

    /// Scenes summarised at once, across the whole bridge.
    let maxRunning: Int
    /// The first retry delay; it doubles per failure in a row.
    let retryDelay: Duration
    /// The longest retry delay.
    let maxRetryDelay: Duration
    private var scenes: [String: Scene] = [:]
    /// Scenes wanted and not running, in request order.
    private var queue: [String] = []
    /// Runs under way.
    private(set) var running = 0

    init(maxRunning: Int = 2, retryDelay: Duration = .seconds(30), maxRetryDelay: Duration? = nil) {
        self.maxRunning = max(1, maxRunning)
        self.retryDelay = retryDelay
        self.maxRetryDelay = maxRetryDelay ?? retryDelay * 32
    }

    /// A scene has work: it runs now if a slot is free and it is neither running nor waiting out a failure.
    mutating func request(_ scene: String, now: Duration) -> [String] {
        var state = scenes[scene] ?? Scene()
        state.wanted = true
        scenes[scene] = state
        if !state.running, !queue.contains(scene) { queue.append(scene) }
        return startDue(now: now)
    }

    /// A run ended; returns the scenes to start now.
    mutating func finished(_ scene: String, _ outcome: Outcome, now: Duration) -> [String] {
        guard var state = scenes[scene], state.running else { return startDue(now: now) }
        state.running = false
        running -= 1
        switch outcome {
        case .done:
            state.failures = 0
            state.retryAt = nil
        case .more:
            state.failures = 0
            state.retryAt = nil
            state.wanted = true
        case .failed:
            state.failures += 1
            state.wanted = true
            let delay = min(maxRetryDelay, retryDelay * (1 << min(state.failures - 1, 20)))
            state.retryAt = now + delay
        }
        if state.wanted {
            scenes[scene] = state
            if !queue.contains(scene) { queue.append(scene) }
        } else {
            scenes[scene] = nil
        }
        return startDue(now: now)
    }

    /// The scenes whose retry time has come (and that fit a free slot).
    mutating func tick(now: Duration) -> [String] { startDue(now: now) }

    /// When the next waiting retry is due, if any scene waits for one.
    var nextRetry: Duration? { queue.compactMap { scenes[$0]?.retryAt }.min() }

    /// Whether the scene is being summarised now.
    func isRunning(_ scene: String) -> Bool { scenes[scene]?.running ?? false }

    private mutating func startDue(now: Duration) -> [String] {
        var started: [String] = []
        var index = 0
        while running < maxRunning, index < queue.count {
            let scene = queue[index]
            guard var state = scenes[scene], !state.running, (state.retryAt.map { $0 <= now } ?? true) else {
                index += 1
                continue
            }
            queue.remove(at: index)
            state.running = true
            state.wanted = false
            state.retryAt = nil
            scenes[scene] = state
            running += 1
            started.append(scene)
        }
        return started
    }
}

import BridgeConfig
import ModelClient
import Synchronization

/// What the router knows about a scene when it asks for memory work.
struct MemoryJob: Sendable {
    /// The scene's channel (for its budgets and name).
    var channel: ChannelRef
    /// The oldest history row the last prompt kept: everything before it was dropped and may be summarised.
    var anchor: Int64
    /// The persona that last answered there (its `memory_prompt`, if any, is the summary prompt).
    var persona: Persona
}

/// Runs scenes' memory work in the background: one run per scene at a time, a few scenes at once, failed runs
/// tried again later on the injected clock.
///
/// The router owns it and runs `run(_:)` in its task group; `request(_:summarizedThrough:)` is called on the reply
/// path and never waits for the work.
final class MemorySummarizer: Sendable {
    private struct State {
        var scheduler: MemoryScheduler
        /// The newest job per scene.
        var jobs: [String: MemoryJob] = [:]
        /// The anchor each scene was last asked about: work is only asked for when the anchor moves.
        var requestedAnchors: [String: Int64] = [:]
        /// Scenes the scheduler started that the loop has not picked up yet.
        var ready: [String] = []
    }

    /// The model summaries and folds are asked of.
    let model: any ChatModel
    private let clock: ElapsedClock
    private let state: Mutex<State>
    private let wakeups: AsyncStream<Void>
    private let wakeInput: AsyncStream<Void>.Continuation
    /// Runs finished so far, for tests.
    let completedRuns = Atomic<Int>(0)

    init(model: any ChatModel, clock: ElapsedClock, retryDelay: Duration, maxRunning: Int = 2) {
        self.model = model
        self.clock = clock
        state = Mutex(State(scheduler: MemoryScheduler(maxRunning: maxRunning, retryDelay: retryDelay)))
        (wakeups, wakeInput) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Asks for memory work after a prompt kept history from `job.anchor` on; nothing happens when that anchor was
    /// asked about already or nothing before it is left to summarise.
    func request(_ job: MemoryJob, summarizedThrough: Int64) {
        let scene = job.channel.key
        let now = clock.now
        let asked = state.withLock { s -> Bool in
            s.jobs[scene] = job
            guard job.anchor > summarizedThrough + 1, s.requestedAnchors[scene] != job.anchor else { return false }
            s.requestedAnchors[scene] = job.anchor
            s.ready += s.scheduler.request(scene, now: now)
            return true
        }
        if asked { wakeInput.yield() }
    }

    /// Whether a scene's memory work is running now.
    func isRunning(_ channel: ChannelRef) -> Bool { state.withLock { $0.scheduler.isRunning(channel.key) } }

    /// Starts the work the scheduler releases, until cancelled; `process` does one scene's work.
    func run(_ process: @escaping @Sendable (MemoryJob) async -> MemoryScheduler.Outcome) async {
        await withDiscardingTaskGroup { group in
            while !Task.isCancelled {
                let now = clock.now
                let (starts, deadline) = state.withLock { s -> ([(String, MemoryJob)], Duration?) in
                    s.ready += s.scheduler.tick(now: now)
                    let ready = s.ready
                    s.ready.removeAll()
                    var starts: [(String, MemoryJob)] = []
                    for scene in ready {
                        if let job = s.jobs[scene] {
                            starts.append((scene, job))
                        } else {
                            // Cannot happen (a scene is only requested with its job); release its slot all the same.
                            s.ready += s.scheduler.finished(scene, .done, now: now)
                        }
                    }
                    return (starts, s.scheduler.nextRetry)
                }
                for (scene, job) in starts {
                    group.addTask {
                        let outcome = await process(job)
                        let end = self.clock.now
                        self.state.withLock { s in s.ready += s.scheduler.finished(scene, outcome, now: end) }
                        self.completedRuns.add(1, ordering: .relaxed)
                        self.wakeInput.yield()
                    }
                }
                await waitForWakeup(orUntil: deadline)
            }
            group.cancelAll()
        }
    }

    /// Returns on the next request or finished run, at `deadline` (a retry due), or on cancellation.
    private func waitForWakeup(orUntil deadline: Duration?) async {
        let wakeups = self.wakeups
        let clock = self.clock
        await withTaskGroup(of: Void.self) { group in
            // One iterator at a time: this child ends (cancelled below) before the next wait makes another.
            group.addTask { for await _ in wakeups { return } }
            if let deadline { group.addTask { try? await clock.sleep(until: deadline) } }
            await group.next()
            group.cancelAll()
        }
    }
}

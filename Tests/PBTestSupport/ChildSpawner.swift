import Foundation

/// The one thread every `TestServer` child is started from, for as long as the test process runs.
///
/// A child's parent-death signal (`setpriv --pdeathsig`) fires when the *thread* that started it ends, not the
/// process. The cooperative pool's threads end when they idle, so a server started from one of them could be killed
/// in the middle of its test; this thread never ends.
final class ChildSpawner: @unchecked Sendable {
    // Safe to share: `jobs` is only read and written under `condition`.
    /// The spawner of the process.
    static let shared = ChildSpawner()

    private let condition = NSCondition()
    private var jobs: [() -> Void] = []

    private init() {
        let thread = Thread { [self] in
            while true {
                condition.lock()
                while jobs.isEmpty { condition.wait() }
                let job = jobs.removeFirst()
                condition.unlock()
                job()
            }
        }
        thread.name = "test-child-spawner"
        thread.start()
    }

    /// Runs `body` on the spawn thread and returns its result (the caller blocks for the few milliseconds a spawn
    /// takes).
    func run<T>(_ body: @escaping () -> T) -> T {
        let result = SpawnResult<T>()
        let done = DispatchSemaphore(value: 0)
        condition.lock()
        jobs.append {
            result.value = body()
            done.signal()
        }
        condition.signal()
        condition.unlock()
        done.wait()
        return result.value!
    }
}

/// A job's result, handed from the spawn thread to the caller.
private final class SpawnResult<T>: @unchecked Sendable {
    // Safe to share: written once on the spawn thread, read by the caller after the job's semaphore.
    var value: T?
}

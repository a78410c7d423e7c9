internal import CMalloc
import Foundation
import ServiceLifecycle

/// Hands the allocator's free pages back to the system every few seconds. After a burst (a flood of chatter, a
/// long prompt, a memory summary) glibc keeps what was freed in its per-thread arenas, so without this the
/// resident size would stay at the burst's peak for the life of the process.
public struct AllocatorTrimService: Service {
    /// Time between trims.
    public let interval: Duration
    private let clock: any Clock<Duration>
    private let trim: @Sendable () -> Void

    /// Creates the service; `trim` defaults to glibc's `malloc_trim(0)`.
    public init(interval: Duration = .seconds(5), clock: any Clock<Duration> = ContinuousClock(),
                trim: @escaping @Sendable () -> Void = AllocatorTrimService.trimAllocator) {
        self.interval = interval
        self.clock = clock
        self.trim = trim
    }

    /// Returns free arena memory to the system now (`malloc_trim(0)`; a no-op off glibc).
    @Sendable public static func trimAllocator() {
        _ = pb_malloc_trim()
    }

    /// Caps glibc's malloc arenas at `count` (its default is eight per core). Each thread that allocates while the
    /// others hold theirs gets an arena of its own, up to the cap, and keeps what it freed there: after a flood, the
    /// store's and the runtime's worker threads left several megabytes in arenas no thread used again, which no trim
    /// can return while a few live blocks pin them. Call it once at start, before those threads exist.
    @discardableResult
    public static func limitArenas(to count: Int = defaultArenaCount) -> Bool {
        pb_malloc_arena_max(Int32(max(1, count))) == 1
    }

    /// One arena for each thread that allocates during a flood, not glibc's eight per core: the cooperative pool
    /// (one thread per core) and six more (the store's writer and the dispatch threads it hops between, the socket
    /// loop, libcurl's, the main thread). With one per core, threads that free what another allocated queued for
    /// a shared arena's lock: a flood put its threads to sleep on that lock some 1,200 times per 200,000 messages
    /// and ran 10 % slower, for 3 MB less resident after it.
    public static var defaultArenaCount: Int { ProcessInfo.processInfo.activeProcessorCount + 6 }

    /// Trims once per interval until graceful shutdown or cancellation.
    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do { try await clock.sleep(for: interval) } catch { return }
                trim()
            }
        }
    }
}

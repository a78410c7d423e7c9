internal import CMalloc
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

import Foundation
import Observability
import ServiceLifecycle
import Synchronization
import Testing

@Suite struct AllocatorTrimServiceTests {
    @Test func trimsOncePerIntervalUntilTheGroupShutsDown() async throws {
        let trims = Atomic<Int>(0)
        let service = AllocatorTrimService(interval: .milliseconds(5)) { trims.add(1, ordering: .relaxed) }
        let group = ServiceGroup(configuration: .init(services: [.init(service: service)], logger: .init(label: "test")))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            let clock = ContinuousClock()
            let deadline = clock.now + .seconds(30)
            while trims.load(ordering: .relaxed) < 3, clock.now < deadline { try await clock.sleep(for: .milliseconds(5)) }
            #expect(trims.load(ordering: .relaxed) >= 3)
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        let after = trims.load(ordering: .relaxed)
        try await Task.sleep(for: .milliseconds(50))
        #expect(trims.load(ordering: .relaxed) == after, "nothing runs after shutdown")
    }

    @Test func theRealTrimCanBeCalledFromAnyThread() async {
        // glibc's malloc_trim takes every arena's lock; called while other tasks allocate it must neither crash nor hang.
        let total = await withTaskGroup(of: Int.self) { group in
            for _ in 0..<4 {
                group.addTask {
                    var sum = 0
                    for i in 0..<2_000 { sum += [UInt8](repeating: UInt8(i & 0xff), count: 4_096 + i).last.map(Int.init) ?? 0 }
                    return sum
                }
            }
            group.addTask { for _ in 0..<20 { AllocatorTrimService.trimAllocator() }; return 0 }
            return await group.reduce(0, +)
        }
        #expect(total == 4 * (0..<2_000).reduce(0) { $0 + ($1 & 0xff) })
    }

    @Test func theArenaCapIsAcceptedAndAllocationGoesOnUnderIt() async {
        // glibc takes the cap (mallopt answers 1); threads past it share the arenas there are.
        #expect(AllocatorTrimService.limitArenas(to: AllocatorTrimService.defaultArenaCount))
        #expect(AllocatorTrimService.defaultArenaCount == ProcessInfo.processInfo.activeProcessorCount + 6)
        let total = await withTaskGroup(of: Int.self) { group in
            for _ in 0..<8 {
                group.addTask { (0..<1_000).reduce(0) { sum, i in sum + [UInt8](repeating: 1, count: 1_024 + i).count } }
            }
            return await group.reduce(0, +)
        }
        #expect(total == 8 * (0..<1_000).reduce(0) { $0 + 1_024 + $1 })
    }
}

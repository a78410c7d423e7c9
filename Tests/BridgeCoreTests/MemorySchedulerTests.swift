@testable import BridgeCore
import Foundation
import Storage
import Testing

@Suite struct MemorySchedulerTests {
    @Test func aSceneRunsOnceAtATimeAndARequestDuringARunMakesOneMoreRun() {
        var scheduler = MemoryScheduler(maxRunning: 2, retryDelay: .seconds(30))
        #expect(scheduler.request("a", now: .zero) == ["a"])
        #expect(scheduler.request("a", now: .zero).isEmpty, "already running")
        #expect(scheduler.request("a", now: .zero).isEmpty, "asked twice while running: still one more run")
        #expect(scheduler.finished("a", .done, now: .seconds(1)) == ["a"])
        #expect(scheduler.finished("a", .done, now: .seconds(2)).isEmpty)
        #expect(scheduler.running == 0)
    }

    @Test func onlyMaxRunningScenesRunAndTheNextStartsWhenOneEnds() {
        var scheduler = MemoryScheduler(maxRunning: 2, retryDelay: .seconds(30))
        #expect(scheduler.request("a", now: .zero) == ["a"])
        #expect(scheduler.request("b", now: .zero) == ["b"])
        #expect(scheduler.request("c", now: .zero).isEmpty)
        #expect(scheduler.finished("b", .done, now: .seconds(1)) == ["c"])
    }

    @Test func aFailedRunIsRetriedAfterAGrowingDelay() {
        var scheduler = MemoryScheduler(maxRunning: 1, retryDelay: .seconds(30))
        #expect(scheduler.request("a", now: .zero) == ["a"])
        #expect(scheduler.finished("a", .failed, now: .seconds(1)).isEmpty)
        #expect(scheduler.nextRetry == .seconds(31))
        #expect(scheduler.request("a", now: .seconds(2)).isEmpty, "a request does not cut the wait short")
        #expect(scheduler.request("b", now: .seconds(2)) == ["b"], "other scenes are not held up")
        #expect(scheduler.finished("b", .done, now: .seconds(3)).isEmpty)
        #expect(scheduler.tick(now: .seconds(30)).isEmpty)
        #expect(scheduler.tick(now: .seconds(31)) == ["a"])
        #expect(scheduler.finished("a", .failed, now: .seconds(40)).isEmpty)
        #expect(scheduler.nextRetry == .seconds(100), "the second failure waits twice as long")
        #expect(scheduler.tick(now: .seconds(100)) == ["a"])
        #expect(scheduler.finished("a", .done, now: .seconds(101)).isEmpty)
        #expect(scheduler.nextRetry == nil)
    }

    @Test func theBlockKeepsPinnedFactsAndDropsTheOldestSummariesOverTheCap() {
        func entry(_ id: Int64, _ kind: MemoryEntryKind, _ text: String) -> MemoryEntry {
            MemoryEntry(id: id, kind: kind, text: text, createdAt: Date())
        }
        let memory = SceneMemory(entries: [entry(1, .summary, String(repeating: "old ", count: 200)),
                                           entry(2, .pinned, "The key is blue."),
                                           entry(3, .summary, "Newest events.")])
        let roomy = MemoryBlock.render(memory, cap: 2_000, scale: 1)
        #expect(roomy?.contains("old old") == true && roomy?.contains("The key is blue.") == true)
        let tight = MemoryBlock.render(memory, cap: 80, scale: 1)
        #expect(tight?.contains("old old") == false)
        #expect(tight?.contains("The key is blue.") == true && tight?.contains("Newest events.") == true)
        #expect(MemoryBlock.needsFold(memory, cap: 80, scale: 1))
        #expect(MemoryBlock.foldSet(memory).map(\.id) == [1], "every summary but the newest is folded")
        #expect(MemoryBlock.render(SceneMemory(), cap: 100, scale: 1) == nil)
    }
}

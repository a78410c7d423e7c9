@testable import BridgeCore
import Foundation
import Logging
import PBTestSupport
import Testing

@Suite struct EditSchedulerTests {
    let budget = EditBudget(burst: 2, interval: .milliseconds(500))

    /// Drives the pure machine like the runner does, with edits completing instantly; returns issued edits.
    struct Driver {
        var machine: EditScheduler
        var now: Duration = .zero
        var edits: [(at: Duration, id: EditStreamID, text: String)] = []
        var wakes: [Duration] = []
        var finished: [EditStreamID: Bool] = [:]

        mutating func run(_ actions: [EditScheduler.Action]) {
            var queue = actions
            while !queue.isEmpty {
                let action = queue.removeFirst()
                switch action {
                case .edit(let id, let text, _):
                    edits.append((now, id, text))
                    queue += machine.editCompleted(id, succeeded: true, now: now)
                case .wake(let at): wakes.append(at)
                case .finished(let id, let delivered): finished[id] = delivered
                }
            }
        }

        /// Advances to the next wake, if any, and ticks.
        mutating func advanceToNextWake() -> Bool {
            guard let next = wakes.filter({ $0 >= now }).min() else { return false }
            wakes.removeAll { $0 <= next }
            now = next
            run(machine.tick(now: now))
            return true
        }
    }

    @Test func firstEditIsImmediateWhenBudgetAllows() {
        var d = Driver(machine: EditScheduler(budget: budget, now: .zero))
        let id = EditStreamID(1)
        d.machine.open(id, sentText: "He")
        d.run(d.machine.submit(id, text: "Hello", now: .zero))
        #expect(d.edits.count == 1)
        #expect(d.edits.first?.text == "Hello")
    }

    @Test func neverExceedsBudgetAndWastesNoTick() {
        var d = Driver(machine: EditScheduler(budget: budget, now: .zero))
        let id = EditStreamID(1)
        d.machine.open(id, sentText: "")
        var text = ""
        // A token every 10 ms for 5 s: far more text than edits.
        for step in 1...500 {
            d.now = .milliseconds(10 * step)
            while let wake = d.wakes.filter({ $0 <= d.now }).min() {
                d.wakes.removeAll { $0 == wake }
                let saved = d.now
                d.now = wake
                d.run(d.machine.tick(now: wake))
                d.now = saved
            }
            text += "x"
            d.run(d.machine.submit(id, text: text, now: d.now))
        }
        // Budget: never more than `burst` edits in any window of `interval`... and at most burst + elapsed/interval overall.
        let times = d.edits.map(\.at)
        for (i, t) in times.enumerated() {
            let inWindow = times[i...].prefix { $0 < t + budget.interval }.count
            #expect(inWindow <= budget.burst, "too many edits after \(t)")
        }
        #expect(times.count <= budget.burst + 10)
        // No wasted tick: with text always waiting, the bucket is used fully (one edit per interval after the burst).
        #expect(times.count >= budget.burst + 9)
        // Every edit carries all text so far (a tick runs before that instant's token arrives).
        for edit in d.edits {
            let arrived = Int(edit.at / .milliseconds(10))
            #expect(edit.text.count == arrived || edit.text.count == arrived - 1)
        }
    }

    @Test func finalEditCarriesExactFullTextEvenWhenThrottled() {
        var d = Driver(machine: EditScheduler(budget: EditBudget(burst: 1, interval: .seconds(1)), now: .zero))
        let id = EditStreamID(7)
        d.machine.open(id, sentText: "a")
        d.run(d.machine.submit(id, text: "ab", now: .zero))
        d.run(d.machine.submit(id, text: "abc", now: .milliseconds(100)))
        d.now = .milliseconds(200)
        d.run(d.machine.finish(id, text: "abcd — end", now: d.now))
        #expect(d.finished[id] == nil)
        while d.advanceToNextWake() {}
        #expect(d.edits.last?.text == "abcd — end")
        #expect(d.edits.map(\.text) == ["ab", "abcd — end"])   // "abc" was superseded, not sent
        #expect(d.finished[id] == true)
    }

    @Test func finishWithoutChangeNeedsNoEdit() {
        var d = Driver(machine: EditScheduler(budget: budget, now: .zero))
        let id = EditStreamID(1)
        d.machine.open(id, sentText: "done")
        d.run(d.machine.finish(id, text: "done", now: .zero))
        #expect(d.edits.isEmpty)
        #expect(d.finished[id] == true)
    }

    @Test func sharedBudgetAcrossStreamsAndFinalsFirst() {
        var d = Driver(machine: EditScheduler(budget: EditBudget(burst: 1, interval: .seconds(1)), now: .zero))
        let a = EditStreamID(1), b = EditStreamID(2)
        d.machine.open(a, sentText: "")
        d.machine.open(b, sentText: "")
        d.run(d.machine.submit(a, text: "a1", now: .zero))
        d.run(d.machine.submit(a, text: "a2", now: .zero))
        d.run(d.machine.submit(b, text: "b1", now: .zero))
        d.run(d.machine.finish(b, text: "b-final", now: .zero))
        #expect(d.edits.map(\.text) == ["a1"])
        _ = d.advanceToNextWake()
        #expect(d.edits.map(\.text) == ["a1", "b-final"])
        _ = d.advanceToNextWake()
        #expect(d.edits.map(\.text) == ["a1", "b-final", "a2"])
        #expect(d.edits.map(\.at) == [.zero, .seconds(1), .seconds(2)])
    }

    @Test func failedEditIsRetriedAndFinalStillDelivered() {
        var machine = EditScheduler(budget: EditBudget(burst: 1, interval: .seconds(1)), now: .zero)
        let id = EditStreamID(3)
        machine.open(id, sentText: "a")
        #expect(machine.finish(id, text: "abc", now: .zero) == [.edit(id, text: "abc", isFinal: true)])
        // The platform failed: the same final text is queued again and goes out when a token is free.
        #expect(machine.editCompleted(id, succeeded: false, now: .milliseconds(10)) == [.wake(at: .seconds(1))])
        #expect(machine.tick(now: .seconds(1)) == [.edit(id, text: "abc", isFinal: true)])
        #expect(machine.editCompleted(id, succeeded: true, now: .seconds(1)) == [.finished(id, delivered: true)])
        #expect(machine.activeStreams == 0)
        #expect(machine.finish(id, text: "abc", now: .seconds(2)) == [.finished(id, delivered: false)])
    }

    /// A driver holds at most one wake and, once it ticks, none. A wake the machine set while the driver still
    /// held an earlier, now-due one (the driver's loop ran late on a loaded machine) must be asked for again at
    /// that tick; otherwise the machine waits for a wake nobody holds, and the channel's edits stop for good.
    @Test func aWakeSetWhileTheDriverWasLateIsAskedForAgainAtItsTick() {
        var machine = EditScheduler(budget: EditBudget(window: FixedWindow(limit: 5, length: .seconds(5))), now: .zero)
        let id = EditStreamID(4)
        machine.open(id, sentText: "a")
        #expect(machine.submit(id, text: "ab", now: .zero) == [.edit(id, text: "ab", isFinal: false)])
        _ = machine.editCompleted(id, succeeded: true, now: .milliseconds(100))
        // Paced: the driver now holds a wake at 1.667 s.
        let first = machine.submit(id, text: "abc", now: .milliseconds(200))
        guard case .wake(let driverWake)? = first.last else {
            Issue.record("expected a pacing wake, got \(first)")
            return
        }
        // The driver runs late: at 2 s, before it ticks, the edit goes out by itself and the next one is paced.
        #expect(machine.submit(id, text: "abcd", now: .seconds(2)) == [.edit(id, text: "abcd", isFinal: false)])
        _ = machine.submit(id, text: "abcde", now: .milliseconds(2050))
        let later = machine.editCompleted(id, succeeded: true, now: .milliseconds(2100))
        guard case .wake(let machineWake)? = later.last, machineWake > driverWake else {
            Issue.record("expected a later wake, got \(later)")
            return
        }
        // The driver keeps its earlier wake (it keeps the earliest), ticks on it and then holds none.
        let afterTick = machine.tick(now: .milliseconds(2200))
        #expect(afterTick.contains(.wake(at: machineWake)), "the machine's wake must be asked for again: \(afterTick)")
        #expect(machine.tick(now: machineWake) == [.edit(id, text: "abcde", isFinal: false)])
    }

    @Test func pauseFromPlatformStopsEdits() {
        var d = Driver(machine: EditScheduler(budget: budget, now: .zero))
        let id = EditStreamID(1)
        d.machine.open(id, sentText: "")
        var paused = budget
        paused.pause = .seconds(3)
        paused.pauseGeneration = 1
        d.run(d.machine.updateBudget(paused, now: .zero))
        d.run(d.machine.submit(id, text: "x", now: .zero))
        #expect(d.edits.isEmpty)
        let woke = d.advanceToNextWake()
        #expect(woke)
        #expect(d.edits.map(\.at) == [.seconds(3)])
    }

    @Test func runnerUnderTestClock() async throws {
        let clock = TestClock()
        let channel = ChannelRef(platform: "test", channelID: "c")
        let board = EditBudgetBoard(fallback: EditBudget(burst: 1, interval: .seconds(1)))
        let recorder = EditRecorder()
        let scheduler = ChannelEditScheduler(channel: channel, budgets: board, clock: clock,
                                             logger: Logger(label: "test")) { ref, text in
            recorder.record(text)
        }
        let id = await scheduler.open(SentMessageRef(channel: channel, messageID: "m"), sentText: "")
        await scheduler.update(id, text: "one")
        try await eventually { recorder.texts == ["one"] }
        await scheduler.update(id, text: "one two")
        await scheduler.update(id, text: "one two three")
        try await eventually { clock.sleeperCount == 1 }
        #expect(recorder.texts == ["one"])
        clock.advance(by: .seconds(1))
        try await eventually { recorder.texts == ["one", "one two three"] }
        let finisher = Task { await scheduler.finish(id, text: "one two three four") }
        try await eventually { clock.sleeperCount == 1 }
        clock.advance(by: .seconds(1))
        #expect(await finisher.value == true)
        #expect(recorder.texts == ["one", "one two three", "one two three four"])
    }
}

/// Fixed windows (Discord): paced progress edits, a reserved slot for the final, reset whole.
@Suite struct EditSchedulerWindowTests {
    static let window = EditBudget(window: FixedWindow(limit: 5, length: .seconds(5)))

    /// A token every 20 ms for `seconds`, with wakes honoured; returns the driver.
    static func stream(_ d: inout EditSchedulerTests.Driver, _ id: EditStreamID, until end: Duration) {
        var text = ""
        var now = Duration.zero
        while now < end {
            now += .milliseconds(20)
            while let wake = d.wakes.filter({ $0 <= now }).min() {
                d.wakes.removeAll { $0 == wake }
                d.now = wake
                d.run(d.machine.tick(now: wake))
            }
            d.now = now
            text += "x"
            d.run(d.machine.submit(id, text: text, now: now))
        }
    }

    @Test func progressEditsArePacedAcrossTheWindowNotBurst() {
        var d = EditSchedulerTests.Driver(machine: EditScheduler(budget: Self.window, now: .zero))
        let id = EditStreamID(1)
        d.machine.open(id, sentText: "")
        Self.stream(&d, id, until: .seconds(12))
        let times = d.edits.map(\.at)
        // Never more than 5 in any 5-s window, and never two within half a second (no burst).
        for (i, t) in times.enumerated() {
            #expect(times[i...].prefix { $0 < t + .seconds(5) }.count <= 5)
            if i > 0 { #expect(t - times[i - 1] >= .milliseconds(500), "edits at \(times[i - 1]) and \(t)") }
        }
        // Still streaming: about one edit every 1.25–1.7 s, so the text is never stale for long.
        #expect(times.count >= 6, "\(times)")
        for (i, t) in times.enumerated() where i > 0 { #expect(t - times[i - 1] <= .milliseconds(2600), "gap before \(t)") }
    }

    @Test func theFinalGoesOutAtOnceFromTheReservedSlot() {
        var d = EditSchedulerTests.Driver(machine: EditScheduler(budget: Self.window, now: .zero))
        let id = EditStreamID(1)
        d.machine.open(id, sentText: "")
        Self.stream(&d, id, until: .seconds(3))
        let before = d.edits.count
        d.run(d.machine.finish(id, text: "the end", now: d.now))
        #expect(d.edits.count == before + 1)
        #expect(d.edits.last?.text == "the end")
        #expect(d.edits.last?.at == d.now)
        #expect(d.finished[id] == true)
    }

    @Test func aNonFinalNeverTakesTheSlotsKeptForFinals() {
        // The platform says one slot is left in a window that resets in 4 s.
        let budget = EditBudget(window: FixedWindow(limit: 5, length: .seconds(5), remaining: 2, resetAfter: .seconds(4)))
        var d = EditSchedulerTests.Driver(machine: EditScheduler(budget: budget, now: .zero))
        let a = EditStreamID(1)
        d.machine.open(a, sentText: "")
        d.run(d.machine.submit(a, text: "progress", now: .zero))
        #expect(d.edits.isEmpty, "two slots are kept: this stream's final and the next reply's first message")
        #expect(d.wakes.contains(.seconds(4)))
        d.now = .milliseconds(100)
        d.run(d.machine.finish(a, text: "final", now: d.now))
        #expect(d.edits.map(\.text) == ["final"])
        #expect(d.edits.first?.at == .milliseconds(100))
    }

    @Test func repliesStillToStartKeepTheirFirstMessageAndFinalSlots() {
        // A fresh window after one create: four slots left, one live stream, two more replies triggered.
        let budget = EditBudget(window: FixedWindow(limit: 5, length: .seconds(5), remaining: 4, resetAfter: .seconds(5)))
        var d = EditSchedulerTests.Driver(machine: EditScheduler(budget: budget, now: .zero))
        let a = EditStreamID(1)
        d.machine.open(a, sentText: "")
        d.run(d.machine.setPendingFirstMessages(2, now: .zero))
        d.run(d.machine.submit(a, text: "progress", now: .zero))
        #expect(d.edits.isEmpty, "the two pending replies need their creates and finals")
        d.run(d.machine.setPendingFirstMessages(0, now: .zero))
        #expect(d.edits.map(\.text) == ["progress"])
    }

    @Test func theWindowResetsWholeInsteadOfRefillingPerSecond() {
        let budget = EditBudget(window: FixedWindow(limit: 5, length: .seconds(5), remaining: 0, resetAfter: .seconds(2)))
        var d = EditSchedulerTests.Driver(machine: EditScheduler(budget: budget, now: .zero))
        let ids = (1...3).map(EditStreamID.init)
        for id in ids { d.machine.open(id, sentText: "") }
        for id in ids { d.run(d.machine.finish(id, text: "final \(id.rawValue)", now: .zero)) }
        #expect(d.edits.isEmpty)
        let woke = d.advanceToNextWake()
        #expect(woke)
        // All three finals together at the reset: a full window, not one token per second.
        #expect(d.edits.map(\.at) == [.seconds(2), .seconds(2), .seconds(2)])
        #expect(ids.allSatisfy { d.finished[$0] == true })
    }

    @Test func finalsGoFirstAndStreamsShareFairly() {
        let budget = EditBudget(window: FixedWindow(limit: 5, length: .seconds(5), remaining: 1, resetAfter: .seconds(1)))
        var d = EditSchedulerTests.Driver(machine: EditScheduler(budget: budget, now: .zero))
        let a = EditStreamID(1), b = EditStreamID(2)
        d.machine.open(a, sentText: "")
        d.machine.open(b, sentText: "")
        d.run(d.machine.submit(a, text: "a1", now: .zero))
        d.run(d.machine.finish(b, text: "b-final", now: .zero))
        #expect(d.edits.map(\.text) == ["b-final"])
        // Over later windows, two live streams alternate.
        let c = EditStreamID(3)
        d.machine.open(c, sentText: "")
        var texts: [String] = []
        for step in 1...1000 {
            let now = Duration.milliseconds(20 * step)
            while let wake = d.wakes.filter({ $0 <= now }).min() {
                d.wakes.removeAll { $0 == wake }
                d.now = wake
                d.run(d.machine.tick(now: wake))
            }
            d.now = now
            d.run(d.machine.submit(a, text: "a\(step)", now: now))
            d.run(d.machine.submit(c, text: "c\(step)", now: now))
        }
        texts = d.edits.dropFirst().map(\.text)
        let fromA = texts.filter { $0.hasPrefix("a") }.count
        let fromC = texts.filter { $0.hasPrefix("c") }.count
        // Two live streams keep three slots back (two finals, one first message): two progress edits per window.
        #expect(fromA >= 3 && fromC >= 3 && abs(fromA - fromC) <= 1, "a: \(fromA), c: \(fromC)")
    }
}

final class EditRecorder: @unchecked Sendable {
    // Safe: `texts` is only touched under `lock`.
    private let lock = NSLock()
    private var _texts: [String] = []
    func record(_ text: String) { lock.withLock { _texts.append(text) } }
    var texts: [String] { lock.withLock { _texts } }
}


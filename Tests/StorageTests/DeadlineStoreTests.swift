import Foundation
import Synchronization
import Testing

@testable import Storage

/// A call that ignores cancellation until the test opens the gate (a database that stopped answering).
private final class Gate: Sendable {
    private let state = Mutex<(open: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    func wait() async {
        await withCheckedContinuation { continuation in
            let open = state.withLock { state -> Bool in
                if !state.open { state.waiters.append(continuation) }
                return state.open
            }
            if open { continuation.resume() }
        }
    }

    func open() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.open = true
            defer { state.waiters = [] }
            return state.waiters
        }
        waiters.forEach { $0.resume() }
    }
}

@Suite("DeadlineStore")
struct DeadlineStoreTests {
    @Test("a call that never answers fails with timedOut, even though it ignores cancellation")
    func hangingCallTimesOut() async throws {
        let gate = Gate()
        defer { gate.open() }
        let store = DeadlineStore(try SQLiteStore.inMemory(), deadline: .milliseconds(100))
        let error = await #expect(throws: StorageError.self) {
            try await store.run("hang") { _ in await gate.wait() }
        }
        #expect(error?.code == .timedOut)
        #expect(error?.message.contains("hang") == true)
        #expect(store.health.consecutiveDeadlineFailures == 1)
    }

    @Test("cancelling the caller ends a hanging call at once with CancellationError")
    func cancellationEndsAHangingCall() async throws {
        let gate = Gate()
        defer { gate.open() }
        let started = Gate()
        // A deadline far beyond the test's wait: only cancellation can end the call.
        let store = DeadlineStore(try SQLiteStore.inMemory(), deadline: .seconds(600))
        let call = Task {
            try await store.run("hang") { _ in
                started.open()
                await gate.wait()
            }
        }
        await started.wait()
        call.cancel()
        let result = await call.result
        #expect(throws: CancellationError.self) { try result.get() }
        #expect(store.health.consecutiveDeadlineFailures == 0, "a cancellation is not a deadline failure")
    }

    @Test("three deadline failures in a row make the store unhealthy; one call in time clears it")
    func healthCountsConsecutiveDeadlineFailures() async throws {
        let gate = Gate()
        defer { gate.open() }
        // Long enough that the call in time is in time on a loaded machine (50 ms was not, beside the flood tests).
        let store = DeadlineStore(try SQLiteStore.inMemory(), deadline: .milliseconds(500))
        let channel = ChannelKey(platform: "test", serverID: "", channelID: "c")
        for attempt in 1...3 {
            #expect(store.health.isHealthy, "healthy before failure \(attempt)")
            await #expect(throws: StorageError.self) { try await store.run("hang") { _ in await gate.wait() } }
        }
        #expect(!store.health.isHealthy)
        #expect(try await store.claimAnswer(channel: channel, messageID: "m1"))
        #expect(store.health.isHealthy)
        #expect(store.health.consecutiveDeadlineFailures == 0)
    }

    @Test("calls that answer in time pass results and errors through unchanged")
    func passesThrough() async throws {
        let store = DeadlineStore(try SQLiteStore.inMemory())
        let channel = ChannelKey(platform: "test", serverID: "", channelID: "c")
        #expect(try await store.claimAnswer(channel: channel, messageID: "m1"))
        #expect(try await !store.claimAnswer(channel: channel, messageID: "m1"))
        try await store.releaseAnswer(channel: channel, messageID: "m1")
        #expect(try await store.claimAnswer(channel: channel, messageID: "m1"))
        let error = await #expect(throws: StorageError.self) { try await store.forgetLast(-1, in: channel) }
        #expect(error?.code == .invalidArgument)
        try await store.close()
        let closed = await #expect(throws: StorageError.self) { try await store.state(for: "k") }
        #expect(closed?.code == .closed)
    }
}

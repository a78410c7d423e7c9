/// Polls `condition` until it returns true, backing off from 5 ms to 100 ms between checks, so an
/// in-process condition is seen at once and a condition that asks a server does not hammer it.
///
/// A thrown error counts as "not yet" (a server may answer an early probe with an error); the last one is
/// reported if the deadline passes. Cancellation ends the wait. The deadline is generous by default: the
/// machine running the suite is shared and slow, and a condition that holds ends the wait immediately.
/// - Parameters:
///   - what: the awaited event, for the failure message.
///   - detail: extra context for the failure message (a server's output, what was seen so far).
public func eventually(
    _ what: String = "condition", timeout: Duration = .seconds(60), detail: (@Sendable () -> String)? = nil,
    _ condition: () async throws -> Bool
) async throws {
    _ = try await eventuallyValue(what, timeout: timeout, detail: detail) { try await condition() ? true : nil }
}

/// Polls `body` until it returns a value (see `eventually`), and returns that value.
public func eventuallyValue<T>(
    _ what: String = "value", timeout: Duration = .seconds(60), detail: (@Sendable () -> String)? = nil,
    _ body: () async throws -> T?
) async throws -> T {
    let deadline = ContinuousClock.now + timeout
    var interval = Duration.milliseconds(5)
    var lastError: (any Error)?
    while true {
        do {
            if let value = try await body() { return value }
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            lastError = error
        }
        if ContinuousClock.now >= deadline { break }
        try await Task.sleep(for: interval)
        interval = min(interval * 2, .milliseconds(100))
    }
    var message = "timed out after \(timeout) waiting for \(what)"
    if let lastError { message += "; last error: \(lastError)" }
    if let detail { message += "\n\(detail())" }
    throw TestServerError(message)
}

/// The one short pause after a recorded event and before a check that nothing else happened (no second reply,
/// no reconnect): the event proves the work is done, the pause gives a wrong extra effect a moment to show up.
/// Use it only right after an `eventually` on such an event, never instead of one.
public func settle(_ duration: Duration = .milliseconds(250)) async throws {
    try await Task.sleep(for: duration)
}

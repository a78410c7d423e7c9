import Foundation

/// A value guarded by a lock, for small shared state that is never held across `await`.
final class Locked<Value>: @unchecked Sendable {
    // Safe: every access to `value` goes through `lock`, and no caller can escape a reference while locked.
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) { self.value = value }

    func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}

/// A counting semaphore for the replies streaming at once in one channel.
actor ReplySlots {
    private let capacity: Int
    private var used = 0
    private var waiters: [CheckedContinuation<Void, Never>] = []

    /// Creates slots; at least one.
    init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    /// Takes a slot if one is free.
    func tryAcquire() -> Bool {
        guard used < capacity else { return false }
        used += 1
        return true
    }

    /// Takes a slot, waiting in arrival order for one to be released.
    func acquire() async {
        if tryAcquire() { return }
        await withCheckedContinuation { waiters.append($0) }
    }

    /// Gives a slot back; a waiter, if any, takes it over.
    func release() {
        if waiters.isEmpty {
            used -= 1
        } else {
            waiters.removeFirst().resume()
        }
    }
}

import Logging

/// Runs an `EditScheduler` for one channel against a platform, with an injected clock.
public actor ChannelEditScheduler {
    /// Edits a sent message; the platform's `edit`.
    public typealias EditFunction = @Sendable (SentMessageRef, String) async throws -> Void

    private let channel: ChannelRef
    private let editFn: EditFunction
    private let budgets: EditBudgetBoard
    private let clock: ElapsedClock
    private let logger: Logger
    private var machine: EditScheduler
    private var refs: [EditStreamID: SentMessageRef] = [:]
    private var waiters: [EditStreamID: [CheckedContinuation<Bool, Never>]] = [:]
    private var nextID = 0
    /// First-message order: replies take a ticket when triggered and send their first message in ticket order.
    private var nextTicket = 0
    private var turn = 0
    private var passedTickets: Set<Int> = []
    private var turnWaiters: [Int: CheckedContinuation<Void, Never>] = [:]

    /// Creates the scheduler for `channel`; it reads the channel's budget from `budgets` before each step.
    public init(channel: ChannelRef, budgets: EditBudgetBoard, clock: ElapsedClock, logger: Logger,
                edit: @escaping EditFunction) {
        self.channel = channel
        self.editFn = edit
        self.budgets = budgets
        self.clock = clock
        var logger = logger
        logger[metadataKey: "channel"] = "\(channel.key)"
        self.logger = logger
        self.machine = EditScheduler(budget: budgets.budget(for: channel), now: clock.now)
    }

    /// A ticket for a reply just triggered; its first message waits for the earlier tickets' first messages.
    public func takeTurnTicket() -> Int {
        defer {
            nextTicket += 1
            syncPending()
        }
        return nextTicket
    }

    /// Tells the machine how many replies still have to send their first message.
    private func syncPending() {
        let pending = (turn..<max(turn, nextTicket)).filter { !passedTickets.contains($0) }.count
        perform(machine.setPendingFirstMessages(pending, now: clock.now))
    }

    /// Returns once every earlier ticket has sent its first message (or ended without one).
    public func waitForTurn(_ ticket: Int) async {
        guard ticket > turn else { return }
        await withCheckedContinuation { turnWaiters[ticket] = $0 }
    }

    /// The ticket's first message is out (or never will be); the next reply may send its own. Idempotent.
    public func passTurn(_ ticket: Int) {
        guard ticket >= turn else { return }
        passedTickets.insert(ticket)
        while passedTickets.remove(turn) != nil { turn += 1 }
        turnWaiters.removeValue(forKey: turn)?.resume()
        syncPending()
    }

    /// Starts scheduling edits for a message just sent with `text`.
    public func open(_ ref: SentMessageRef, sentText text: String) -> EditStreamID {
        nextID += 1
        let id = EditStreamID(nextID)
        refs[id] = ref
        machine.open(id, sentText: text)
        return id
    }

    /// Offers the message's full text so far; it is edited as soon as the budget allows.
    public func update(_ id: EditStreamID, text: String) {
        syncBudget()
        perform(machine.submit(id, text: text, now: clock.now))
    }

    /// Puts the exact final text on the platform; returns whether it got there.
    @discardableResult
    public func finish(_ id: EditStreamID, text: String) async -> Bool {
        await withCheckedContinuation { continuation in
            waiters[id, default: []].append(continuation)
            syncBudget()
            perform(machine.finish(id, text: text, now: clock.now))
        }
    }

    private func syncBudget() {
        perform(machine.updateBudget(budgets.budget(for: channel), now: clock.now))
    }

    private func tick() {
        syncBudget()
        perform(machine.tick(now: clock.now))
    }

    private func completed(_ id: EditStreamID, succeeded: Bool) {
        syncBudget()
        perform(machine.editCompleted(id, succeeded: succeeded, now: clock.now))
    }

    private func perform(_ actions: [EditScheduler.Action]) {
        for action in actions {
            switch action {
            case .edit(let id, let text, _):
                guard let ref = refs[id] else { continue }
                let editFn = self.editFn
                let logger = self.logger
                Task {
                    var ok = true
                    do {
                        try await editFn(ref, text)
                    } catch {
                        ok = false
                        logger.warning("edit failed", metadata: ["message-id": "\(ref.messageID)", "error": "\(error)"])
                    }
                    self.completed(id, succeeded: ok)
                }
            case .wake(let at):
                let clock = self.clock
                Task {
                    try? await clock.sleep(until: at)
                    self.tick()
                }
            case .finished(let id, let delivered):
                refs[id] = nil
                for waiter in waiters.removeValue(forKey: id) ?? [] { waiter.resume(returning: delivered) }
            }
        }
    }
}

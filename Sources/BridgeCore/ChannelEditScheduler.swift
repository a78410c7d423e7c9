import Logging

/// Runs an `EditScheduler` for one channel against a platform, with an injected clock.
///
/// One task per channel carries out the machine's actions: it starts each edit as a child task and ticks
/// the machine at the wakes it asks for.
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
    public init(channel: ChannelRef, budgets: EditBudgetBoard, clock: any Clock<Duration>, logger: Logger,
                edit: @escaping EditFunction) {
        self.init(channel: channel, budgets: budgets, elapsed: ElapsedClock(clock), logger: logger, edit: edit)
    }

    /// Creates the scheduler on a view of the clock the caller already holds.
    init(channel: ChannelRef, budgets: EditBudgetBoard, elapsed clock: ElapsedClock, logger: Logger,
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
        var needsLoop = false
        for action in actions {
            switch action {
            case .edit(let id, let text, _):
                guard let ref = refs[id] else { continue }
                queuedEdits.append(QueuedEdit(id: id, ref: ref, text: text))
                needsLoop = true
            case .wake(let at):
                if wakeAt.map({ at < $0 }) ?? true { wakeAt = at }
                needsLoop = true
            case .finished(let id, let delivered):
                refs[id] = nil
                for waiter in waiters.removeValue(forKey: id) ?? [] { waiter.resume(returning: delivered) }
            }
        }
        if needsLoop { startOrPokeLoop() }
    }

    // MARK: The channel's one task

    /// An edit the machine asked for, waiting for the loop to start it.
    private struct QueuedEdit: Sendable {
        let id: EditStreamID
        let ref: SentMessageRef
        let text: String
    }

    private var queuedEdits: [QueuedEdit] = []
    /// The earliest wake the machine asked for and has not had yet.
    private var wakeAt: Duration?
    private var editsInFlight = 0
    private var loopRunning = false
    private var pokeWaiter: CheckedContinuation<Void, Never>?
    private var poked = false

    private func startOrPokeLoop() {
        poke()
        guard !loopRunning else { return }
        loopRunning = true
        // Unstructured on purpose: the loop serves every reply in the channel, so it cannot be a child of the
        // reply that happened to start it; it ends by itself once the channel has no edit queued, in flight
        // or waiting for a wake, and the next edit starts it again. At most one runs per channel.
        Task { await self.runLoop() }
    }

    /// Starts the machine's edits as child tasks (one per message at most, by the machine's rule) and ticks
    /// the machine at its wakes, until the channel is idle.
    private func runLoop() async {
        await withDiscardingTaskGroup { edits in
            while let batch = await self.nextBatch() {
                for edit in batch {
                    edits.addTask { await self.send(edit) }
                }
            }
        }
    }

    /// The edits to start now, after waiting for work or a due wake; nil once the channel is idle.
    private func nextBatch() async -> [QueuedEdit]? {
        while true {
            if let at = wakeAt, clock.now >= at {
                wakeAt = nil
                tick()
            }
            if !queuedEdits.isEmpty {
                let batch = queuedEdits
                queuedEdits = []
                editsInFlight += batch.count
                return batch
            }
            if wakeAt == nil, editsInFlight == 0 {
                loopRunning = false
                return nil
            }
            await waitForPoke(until: wakeAt)
        }
    }

    private func send(_ edit: QueuedEdit) async {
        var ok = true
        do {
            try await editFn(edit.ref, edit.text)
        } catch {
            ok = false
            logger.warning("edit failed", metadata: ["message-id": "\(edit.ref.messageID)", "error": "\(error)"])
        }
        editsInFlight -= 1
        completed(edit.id, succeeded: ok)
        poke()
    }

    /// Suspends until something is queued, an edit completes, or `deadline` passes.
    private func waitForPoke(until deadline: Duration?) async {
        if poked {
            poked = false
            return
        }
        let clock = self.clock
        await withDiscardingTaskGroup { timer in
            if let deadline {
                timer.addTask {
                    try? await clock.sleep(until: deadline)
                    if !Task.isCancelled { await self.poke() }
                }
            }
            await self.suspendUntilPoked()
            timer.cancelAll()
        }
    }

    private func suspendUntilPoked() async {
        if poked {
            poked = false
            return
        }
        await withCheckedContinuation { pokeWaiter = $0 }
    }

    private func poke() {
        if let waiter = pokeWaiter {
            pokeWaiter = nil
            waiter.resume()
        } else {
            poked = true
        }
    }
}

import BridgeConfig
import Foundation
import Logging
import ModelClient
import Storage

extension Router {
    /// Summary and fold requests one run may make before it lets other scenes have the slot.
    static let memoryStepsPerRun = 16
    /// History rows read per page when gathering a span to summarise.
    static let memorySpanPage = 500
    /// Longest pinned fact, in characters.
    static let maximumPinnedFactLength = 500

    /// The scene's memory for a prompt, or nil when memory is off; a failed read costs the reply only its memory.
    func sceneMemoryForReply(_ key: ChannelKey, logger: Logger) async -> SceneMemory? {
        guard configurationForReplies.memory.enabled else { return nil }
        do {
            return try await storeForCommands.sceneMemory(in: key)
        } catch {
            logger.error("could not read the scene's memory; answering without it", metadata: ["error": "\(error)"])
            return nil
        }
    }

    /// Asks for memory work when the prompt just assembled dropped history that is not summarised yet.
    func requestMemoryWork(in channel: ChannelRef, anchor: Int64?, persona: Persona, memory: SceneMemory?) {
        guard let memory, let anchor else { return }
        memorySummarizer.request(MemoryJob(channel: channel, anchor: anchor, persona: persona),
                                 summarizedThrough: memory.summarizedThrough)
    }

    /// One scene's memory work: folds while the memory is over its cap, then summarises each span of dropped
    /// history that reached the threshold, oldest first. A failure leaves the cursor where it was, so the same
    /// span is tried again later and nothing is skipped.
    func runMemory(_ job: MemoryJob) async -> MemoryScheduler.Outcome {
        var logger = commandLogger
        logger[metadataKey: "platform"] = "\(job.channel.platform)"
        logger[metadataKey: "channel"] = "\(job.channel.key)"
        let configuration = configurationForReplies
        let settings = configuration.memory
        let binding = configuration.binding(for: job.channel)
        let every = binding?.memoryEveryTokens ?? settings.everyTokens
        let prompt = binding?.memoryPrompt ?? job.persona.memoryPrompt ?? settings.prompt
        let scene = binding?.scene ?? ContextAssembler.groupName(for: job.channel)
        let store = storeForCommands
        let key = Self.key(job.channel)
        do {
            for _ in 0..<Self.memoryStepsPerRun {
                if isDraining { return .done }
                let scale = promptScale
                let memory = try await store.sceneMemory(in: key)
                if MemoryBlock.needsFold(memory, cap: settings.maxTokens, scale: scale) {
                    let folding = MemoryBlock.foldSet(memory)
                    let request = MemoryBlock.foldRequest(folding, pinned: memory.pinned, prompt: settings.foldPrompt, scene: scene)
                    guard let text = try await memoryRequest(request, what: "fold", channel: job.channel, logger: logger) else {
                        return .failed
                    }
                    let before = folding.reduce(0) { $0 + MemoryBlock.tokens($1.text, scale: scale) }
                    if folding.count == 1, MemoryBlock.tokens(text, scale: scale) >= before {
                        // Condensing one summary did not make it shorter; asking again would only repeat that.
                        logger.warning("memory fold did not shorten the summary; the oldest summaries stay out of prompts until the next fold",
                                       metadata: ["tokens": "\(before)", "cap": "\(settings.maxTokens)"])
                        return .done
                    }
                    if try await store.foldMemorySummaries(folding.map(\.id), into: text, in: key) {
                        logger.info("memory folded", metadata: ["summaries": "\(folding.count)", "tokens-before": "\(before)"])
                    }
                    continue
                }
                guard let chunk = try await dueChunk(in: key, after: memory.summarizedThrough, before: job.anchor,
                                                     everyTokens: every, scale: scale),
                      let first = chunk.first?.rowID, let last = chunk.last?.rowID else { return .done }
                let request = MemoryBlock.summaryRequest(chunk, prompt: prompt, scene: scene)
                guard let text = try await memoryRequest(request, what: "summary", channel: job.channel, logger: logger,
                                                         span: first...last) else { return .failed }
                let draft = MemorySummaryDraft(text: text, firstMessageRowID: first, lastMessageRowID: last)
                if try await store.appendMemorySummary(draft, in: key, expectedCursor: memory.summarizedThrough) {
                    logger.info("history summarised into memory", metadata: [
                        "messages": "\(chunk.count)", "rows": "\(first)-\(last)",
                    ])
                } else {
                    logger.info("another process summarised this span first; its summary is kept", metadata: ["rows": "\(first)-\(last)"])
                }
            }
            return .more
        } catch is CancellationError {
            return .failed
        } catch {
            logger.error("memory work failed; nothing was lost, it is tried again later", metadata: ["error": "\(error)"])
            return .failed
        }
    }

    /// The oldest dropped, unsummarised messages that make one summary, read a page at a time; nil when fewer than
    /// `everyTokens` have gathered.
    private func dueChunk(in key: ChannelKey, after cursor: Int64, before anchor: Int64, everyTokens: Int,
                          scale: Double) async throws -> [StoredMessage]? {
        var span: [StoredMessage] = []
        var after = cursor
        while true {
            let page = try await storeForCommands.messages(in: key, after: after, before: anchor, limit: Self.memorySpanPage)
            span += page
            if let chunk = MemoryBlock.dueChunk(span, everyTokens: everyTokens, scale: scale) { return chunk }
            guard page.count == Self.memorySpanPage, let next = page.last?.rowID else { return nil }
            after = next
        }
    }

    /// Sends one summary or fold request within the budgets and returns its text; nil (logged) when a budget
    /// refused it or the model failed or sent nothing.
    private func memoryRequest(_ messages: [ChatMessage], what: String, channel: ChannelRef, logger: Logger,
                               span: ClosedRange<Int64>? = nil) async throws -> String? {
        var logger = logger
        if let span { logger[metadataKey: "rows"] = "\(span.lowerBound)-\(span.upperBound)" }
        let configuration = configurationForReplies
        let estimate = Int((Double(TokenBudget.rawEstimate(messages)) * promptScale).rounded(.up))
        guard let admission = try await admitMemory(in: channel, estimatedPromptTokens: estimate, logger: logger) else {
            return nil
        }
        var parameters = configuration.parameters
        parameters.maxOutputTokens = configuration.memory.summaryTokens
        // Notes, not prose: a cooler sampling keeps names and numbers as they were said.
        parameters.temperature = min(parameters.temperature, 0.5)
        let request = ChatRequest(messages: messages, model: configuration.model, parameters: parameters)
        var outcome = ReplyOutcome(text: "", messages: [])
        do {
            for try await event in memorySummarizer.model.stream(request) {
                switch event {
                case .delta(let piece): outcome.text += piece
                case .finish(let reason): outcome.finishReason = reason
                case .usage(let usage): outcome.usage = usage
                }
            }
        } catch {
            outcome.error = error
        }
        await recordSpend(admission, outcome: outcome, platform: channel.platform, logger: logger)
        if let error = outcome.error {
            if error is CancellationError { throw error }
            let code = (error as? ModelError).map { "\($0.code)" } ?? "\(type(of: error))"
            logger.error("memory \(what) request failed; the span stays unsummarised and is tried again later",
                         metadata: ["code": "\(code)", "error": "\(error)"])
            return nil
        }
        let text = outcome.text.trimmingWhitespaceAndNewlines()
        guard !text.isEmpty else {
            logger.error("memory \(what) request returned no text; the span stays unsummarised and is tried again later")
            return nil
        }
        if outcome.wasCutOff {
            logger.notice("memory \(what) hit summary_tokens and was cut off; it is kept as it is",
                          metadata: ["summary-tokens": "\(configuration.memory.summaryTokens)"])
        }
        return text
    }

    /// Admits a background memory request against the channel and server budgets (it has no user), and records it.
    private func admitMemory(in channel: ChannelRef, estimatedPromptTokens: Int, logger: Logger) async throws -> Admission? {
        let store = storeForCommands
        let key = Self.key(channel)
        let now = Date()
        let server = budgetServer(of: channel)
        if budgetPolicy.isActive {
            let dayAgo = now.addingTimeInterval(-BudgetPolicy.day)
            var usage = BudgetPolicy.Usage()
            usage.channelTokens = try await store.usageTotals(.channel(key), since: dayAgo).totalTokens
            if let server {
                usage.serverTokens = try await store.usageTotals(.server(platform: channel.platform, serverID: server), since: dayAgo).totalTokens
            }
            if case .refused(let scope, let used, let limit) = budgetPolicy.decide(usage, hasServer: server != nil) {
                logger.notice("memory summary waits: the budget is used up; it is tried again later", metadata: [
                    "scope": "\(scope.rawValue)", "used": "\(used)", "limit": "\(limit)",
                ])
                return nil
            }
        }
        let record = UsageRecord(requestID: UUID().uuidString, channel: key, userID: "", promptTokens: max(0, estimatedPromptTokens),
                                 createdAt: now, serverID: server)
        try await store.recordUsage(record)
        return Admission(record: record)
    }

    /// Summarises everything memory has not summarised yet in `channel` (the whole rest of its history, in spans of
    /// `every_tokens`), for a scene that ends; returns how many summaries were added, nil when memory is off.
    /// A span another process summarised first is skipped.
    func summarizeRemainder(of channel: ChannelRef, persona: Persona?, logger: Logger) async throws -> Int? {
        let configuration = configurationForReplies
        let settings = configuration.memory
        guard settings.enabled else { return nil }
        await flushHistory()
        let binding = configuration.binding(for: channel)
        let every = binding?.memoryEveryTokens ?? settings.everyTokens
        let prompt = binding?.memoryPrompt ?? persona?.memoryPrompt ?? settings.prompt
        let scene = binding?.scene ?? ContextAssembler.groupName(for: channel)
        let store = storeForCommands
        let key = Self.key(channel)
        var added = 0
        for _ in 0..<Self.memoryStepsPerRun {
            let scale = promptScale
            let memory = try await store.sceneMemory(in: key)
            let rest = try await store.messages(in: key, after: memory.summarizedThrough, before: Int64.max, limit: Self.memorySpanPage)
            guard !rest.isEmpty else { return added }
            let chunk = MemoryBlock.dueChunk(rest, everyTokens: every, scale: scale) ?? rest
            guard let first = chunk.first?.rowID, let last = chunk.last?.rowID else { return added }
            let request = MemoryBlock.summaryRequest(chunk, prompt: prompt, scene: scene)
            guard let text = try await memoryRequest(request, what: "summary", channel: channel, logger: logger, span: first...last) else {
                throw MemoryRemainderError(code: "summaryFailed", rows: first...last)
            }
            let draft = MemorySummaryDraft(text: text, firstMessageRowID: first, lastMessageRowID: last)
            if try await store.appendMemorySummary(draft, in: key, expectedCursor: memory.summarizedThrough) { added += 1 }
        }
        return added
    }

    // MARK: Commands

    /// `memory show|forget|add TEXT` (the caller checked that the author is a moderator or admin).
    func runMemoryCommand(_ command: MemoryCommand, author: ChatUser, in channel: ChannelRef,
                          answer: @escaping @Sendable (String) async throws -> Void) async throws {
        let store = storeForCommands
        let key = Self.key(channel)
        let settings = configurationForReplies.memory
        let scale = promptScale
        switch command {
        case .show:
            let memory = try await store.sceneMemory(in: key)
            try await answer(Self.memoryReport(memory, settings: settings, scale: scale))
        case .forget:
            let removed = try await store.forgetMemory(in: key)
            try await answer("Forgot this scene's memory (\(removed) entr\(removed == 1 ? "y" : "ies")). "
                + "History summarised before is not summarised again.")
        case .add(let raw):
            let text = ContextAssembler.safeText(raw)
            guard !text.isEmpty else { return try await answer("Nothing to pin: the fact is empty.") }
            guard text.count <= Self.maximumPinnedFactLength else {
                return try await answer("That fact is \(text.count) characters; pinned facts may have at most "
                    + "\(Self.maximumPinnedFactLength). Nothing was pinned.")
            }
            let memory = try await store.sceneMemory(in: key)
            let pinnedTokens = MemoryBlock.tokens(MemoryBlock.compose(pinned: memory.pinned.map(\.text) + [text], summaries: []),
                                                  scale: scale)
            // Pinned facts are never folded: they may take at most half of the memory, leaving room for summaries.
            guard pinnedTokens <= settings.maxTokens / 2 else {
                return try await answer("Pinned facts would take about \(pinnedTokens) tokens, more than half of this scene's "
                    + "memory (\(settings.maxTokens)). Nothing was pinned; `memory forget` clears them.")
            }
            _ = try await store.addPinnedFact(text, by: author.id, in: key)
            try await answer("Pinned: \(text)" + (settings.enabled ? "" : " (memory is off in this bridge's config, so it is not sent yet)"))
        }
    }

    /// The `memory show` answer, cut to fit one chat message.
    static func memoryReport(_ memory: SceneMemory, settings: MemorySettings, scale: Double) -> String {
        let pinned = memory.pinned
        let summaries = memory.summaries
        guard !pinned.isEmpty || !summaries.isEmpty else {
            return "This scene has no memory yet" + (settings.enabled
                ? " (a summary is written once \(settings.everyTokens) tokens of history have scrolled out of the prompt)."
                : "; memory is off in this bridge's config.")
        }
        let total = MemoryBlock.tokens(MemoryBlock.compose(pinned: pinned.map(\.text), summaries: summaries.map(\.text)), scale: scale)
        var lines = ["Memory — \(pinned.count) pinned fact\(pinned.count == 1 ? "" : "s"), \(summaries.count) "
            + "summar\(summaries.count == 1 ? "y" : "ies"), about \(total) of \(settings.maxTokens) tokens."]
        if !pinned.isEmpty {
            lines.append("Pinned:")
            lines += pinned.enumerated().map { "\($0.offset + 1). \($0.element.text)" }
        }
        if !summaries.isEmpty {
            lines.append("Summaries, oldest first:")
            lines += summaries.map { "• " + ContextAssembler.safeText($0.text) }
        }
        let text = lines.joined(separator: "\n")
        let limit = 1_800
        guard text.count > limit else { return text }
        return String(text.prefix(limit)) + "… (\(text.count - limit) more characters; `why` shows the block sent with the last reply)"
    }
}

/// A scene's last summary could not be written (the model failed or a budget refused it); the thread stays open.
struct MemoryRemainderError: Error, CustomStringConvertible {
    /// What failed.
    var code: String
    /// The history rows that stay unsummarised.
    var rows: ClosedRange<Int64>

    var description: String { "the summary of history rows \(rows.lowerBound)-\(rows.upperBound) could not be written (\(code))" }
}

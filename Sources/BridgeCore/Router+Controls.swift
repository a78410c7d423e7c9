import BridgeConfig
import Foundation
import Logging
import ModelClient
import Storage
import Synchronization

/// The time to first text of one reply, set by the stream's forwarder and read when the reply is recorded.
final class FirstTokenMark: Sendable {
    private let stored = Mutex<Duration?>(nil)
    /// Records the first text's time (only the first call counts).
    func mark(_ elapsed: Duration) { stored.withLock { if $0 == nil { $0 = elapsed } } }
    /// The time to first text, if any text arrived.
    var value: Duration? { stored.withLock { $0 } }
}

/// What `recordPrompt` needs from one finished reply.
struct PromptFacts: Sendable {
    var request: ChatRequest
    var context: AssembledContext
    var historyAvailable: Int
    var scale: Double
    var persona: Persona
    var admission: Admission
    var outcome: ReplyOutcome
    var firstToken: Duration?
    var total: Duration
}

extension Router {
    // MARK: Prompt view

    /// Stores what the model was shown for a finished reply (the `why` view).
    func recordPrompt(_ facts: PromptFacts, in channel: ChannelRef, logger: Logger) async {
        let messages = facts.request.messages.map { message in
            PromptView.Message(role: message.role.rawValue, name: message.name, content: message.content,
                               tokens: Int((Double(TokenBudget.rawEstimate(message)) * facts.scale).rounded(.up)))
        }
        var trimmed: [String] = []
        let dropped = facts.historyAvailable - facts.context.historyCount
        if dropped > 0 { trimmed.append("\(dropped) oldest history message\(dropped == 1 ? "" : "s")") }
        let outcome = facts.outcome
        let reported = outcome.usage != nil
        let prompt = outcome.usage?.promptTokens ?? Int((Double(facts.context.rawEstimate) * facts.scale).rounded())
        // Without a usage report (a stopped stream) only the text received counts, about four bytes a token.
        let completion = outcome.usage?.completionTokens ?? (outcome.text.isEmpty ? 0 : max(1, outcome.text.utf8.count / 4))
        let cached = outcome.usage?.cachedTokens ?? 0
        let cost = configurationForCommands.budgets.estimatedCost(promptTokens: prompt, completionTokens: completion,
                                                                  cachedTokens: cached)
        let ending: String
        if let error = outcome.error {
            ending = error is ReplyStopped ? "stopped" : error is ReplyInterruption ? "shutdown" : "error: \(ReplyEngine.shortReason(error))"
        } else {
            ending = outcome.finishReason.map { "\($0)" } ?? "stop"
        }
        func ms(_ d: Duration) -> Int { Int(d.components.seconds * 1000 + d.components.attoseconds / 1_000_000_000_000_000) }
        let parameters = facts.request.parameters
        let view = PromptView(
            requestID: facts.admission.record.requestID, persona: facts.persona.name,
            replyID: outcome.messages.first?.messageID,
            createdAt: ISO8601Timestamp.string(from: facts.admission.record.createdAt),
            messages: messages, trimmed: trimmed, lore: facts.context.loreUIDs,
            memory: facts.context.memory,
            parameters: .init(model: facts.request.model ?? clientModelName, temperature: parameters.temperature, topP: parameters.topP,
                              maxOutputTokens: parameters.maxOutputTokens),
            usage: .init(promptTokens: prompt, completionTokens: completion, cachedTokens: cached, reported: reported,
                         estimatedCostUSD: cost, timeToFirstTokenMs: facts.firstToken.map(ms), totalMs: ms(facts.total)),
            ending: ending)
        do {
            try await storeForCommands.recordPrompt(PromptRecord(
                requestID: view.requestID, channel: Self.key(channel), replyID: view.replyID, personaName: view.persona,
                createdAt: facts.admission.record.createdAt, document: view.json()),
                keepingLast: configurationForCommands.promptRecordsPerScene)
        } catch {
            logger.error("could not record the prompt", metadata: ["error": "\(error)"])
        }
    }

    /// The Nth newest prompt view of the channel (1 = the last reply).
    func promptView(_ n: Int, in channel: ChannelRef) async throws -> PromptView? {
        // A reply still streaming has no record yet: "the last reply" is the last one finished.
        await replies.waitUntilIdle(channel.key)
        let records = try await storeForCommands.promptRecords(in: Self.key(channel), limit: n)
        guard records.count == n, let record = records.last else { return nil }
        return PromptView.decode(record.document)
    }

    /// `why N` typed in a channel: a summary line, and the full document as a file where the platform can post
    /// one, else written to a file whose path is logged (never pasted into the channel).
    func answerWhy(_ n: Int, in channel: ChannelRef, platform: any PlatformSender, replyTo: String?,
                   answer: @escaping @Sendable (String) async throws -> Void) async throws {
        guard let view = try await promptView(n, in: channel) else {
            return try await answer(n == 1 ? "No reply here has a stored prompt yet."
                : "Only the last \(configurationForCommands.promptRecordsPerScene) replies keep their prompt, and there are fewer than \(n) here.")
        }
        let summary = view.summary(position: n)
        let document = Array(view.json().utf8)
        if let files = platform.adapter as? PlatformFileSender {
            try await files.sendFile(document, filename: "prompt.json", contentType: "application/json", caption: summary,
                                     in: channel, replyTo: replyTo)
            return
        }
        let directory = configurationForCommands.promptDumpDirectory ?? NSTemporaryDirectory()
        let safeChannel = channel.key.map { $0.isLetter || $0.isNumber ? $0 : "_" }
        let path = (directory as NSString).appendingPathComponent("pb-prompt-\(String(safeChannel))-\(view.requestID).json")
        do {
            try Data(document).write(to: URL(fileURLWithPath: path), options: .atomic)
            var logger = commandLogger
            logger[metadataKey: "channel"] = "\(channel.key)"
            logger.notice("prompt view written", metadata: ["path": "\(path)", "request-id": "\(view.requestID)"])
            try await answer(summary + " — the full prompt was written to a file on the bridge host (its path is in the log).")
        } catch {
            try await answer(summary + " — the full prompt could not be written: \(error.localizedDescription)")
        }
    }

    // MARK: Permission

    /// Whether `user` may use the controls of `reply`: the player whose message triggered it, a moderator or an admin.
    func mayControl(_ user: ChatUser, reply: ReplyRecord?, in channel: ChannelRef, platform: any PlatformSender) async -> Bool {
        if user.isBot { return false }
        if configurationForCommands.isAdmin(user, on: channel.platform) { return true }
        if let trigger = reply?.triggerMessageID,
           let message = try? await storeForCommands.message(in: Self.key(channel), messageID: trigger),
           message.kind == .human, message.speakerID == user.id {
            return true
        }
        return await platform.isModerator(user, in: channel)
    }

    /// Checks a control before it runs; returns the refusal to show, or nil when `user` may go ahead.
    func controlRefusal(_ command: BridgeCommand, by user: ChatUser, in channel: ChannelRef, target: String?,
                        platform: any PlatformSender) async throws -> String? {
        let key = Self.key(channel)
        if command == .stop {
            let requesters = controls.requesters(in: channel.key)
            if requesters.contains(where: { $0 == user.id }), !user.isBot { return nil }
            if await mayControl(user, reply: nil, in: channel, platform: platform) { return nil }
            return requesters.isEmpty ? nil
                : "Sorry \(user.displayName), only the player who asked for this reply or a moderator can stop it."
        }
        await replies.waitUntilIdle(channel.key)
        let last = try await storeForCommands.lastReply(in: key, persona: nil)
        if let target, let last, !last.messageIDs.contains(target) {
            return "These controls belong to an older reply; use the ones on the latest reply."
        }
        if await mayControl(user, reply: last, in: channel, platform: platform) { return nil }
        return "Sorry \(user.displayName), only the player who asked for this reply or a moderator can do that."
    }

    // MARK: Controls

    /// Runs a reply control or the prompt view; the caller checked moderator rights for `why`.
    func runControl(_ command: BridgeCommand, author: ChatUser, in channel: ChannelRef, platform: any PlatformSender,
                    replyTo: String?, checked: Bool = false,
                    answer: @escaping @Sendable (String) async throws -> Void) async throws {
        let config = configurationForCommands
        let store = storeForCommands
        let key = Self.key(channel)
        var logger = commandLogger
        logger[metadataKey: "platform"] = "\(channel.platform)"
        logger[metadataKey: "channel"] = "\(channel.key)"
        if case .why(let n) = command {
            return try await answerWhy(n, in: channel, platform: platform, replyTo: replyTo, answer: answer)
        }
        if !checked, let refusal = try await controlRefusal(command, by: author, in: channel, target: nil, platform: platform) {
            logger.info("control refused", metadata: ["user": "\(author.id)", "command": "\(command)"])
            return try await answer(refusal)
        }
        switch command {
        case .stop:
            let stopped = controls.stopAll(in: channel.key, by: author.id)
            if stopped == 0 { try await answer("No reply is being written here.") }
        case .previousAlternative, .nextAlternative:
            try await flip(command == .nextAlternative ? 1 : -1, in: channel, platform: platform, answer: answer)
        case .regenerate, .continueReply:
            // "The last reply" means the last one finished: wait for replies still streaming in this channel.
            await replies.waitUntilIdle(channel.key)
            guard let last = try await store.lastReply(in: key, persona: nil),
                  let persona = config.personas[last.personaName] else {
                return try await answer("There is no earlier reply here to \(command == .regenerate ? "regenerate" : "continue").")
            }
            if command == .regenerate {
                try await regenerate(last, as: persona, in: channel, platform: platform, author: author, logger: logger)
            } else {
                try await reply(as: persona, in: channel, to: last.messageIDs.last, platform: platform,
                                continuation: author.displayName, requestedBy: author, logger: logger)
            }
        default:
            break
        }
    }

    /// Replaces the last reply with a new one, keeping the old text as an alternative to flip back to.
    private func regenerate(_ last: ReplyRecord, as persona: Persona, in channel: ChannelRef, platform: any PlatformSender,
                            author: ChatUser, logger: Logger) async throws {
        let store = storeForCommands
        let key = Self.key(channel)
        var previous = try await store.replyAlternatives(in: key, replyID: last.replyID)?.texts ?? []
        if previous.isEmpty, let first = last.messageIDs.first, let text = try await store.message(in: key, messageID: first)?.text {
            previous = [text]
        }
        let refs = controls.refs(of: last.replyID, in: channel.key)
            ?? last.messageIDs.map { SentMessageRef(channel: channel, messageID: $0) }
        if let first = last.messageIDs.first { try await store.applyDeletion(in: key, messageID: first) }
        try await store.removeReply(id: last.replyID)
        try await store.removeReplyAlternatives(in: key, replyID: last.replyID)
        if platform.capabilities.canEdit {
            if let controlled = platform.replyControls, let lastRef = refs.last {
                try? await controlled.setControls(nil, on: lastRef)
                _ = controls.moveControls(to: nil, in: channel.key)
            }
            for ref in refs { try? await platform.edit(ref, text: "(replaced by a new reply)") }
        }
        controls.forget(last.replyID, in: channel.key)
        try await reply(as: persona, in: channel, to: last.triggerMessageID, platform: platform, requestedBy: author,
                        alternativesBefore: previous, logger: logger)
    }

    /// Shows the last reply's previous or next alternative, in the channel and in history.
    private func flip(_ step: Int, in channel: ChannelRef, platform: any PlatformSender,
                      answer: @escaping @Sendable (String) async throws -> Void) async throws {
        let store = storeForCommands
        let key = Self.key(channel)
        guard let last = try await store.lastReply(in: key, persona: nil),
              let alternatives = try await store.replyAlternatives(in: key, replyID: last.replyID),
              alternatives.texts.count > 1 else {
            return try await answer("The last reply has no alternatives; regenerate it to make some.")
        }
        let shown = alternatives.shown + step
        guard alternatives.texts.indices.contains(shown) else {
            return try await answer(step < 0 ? "That is already the first alternative." : "That is already the last alternative.")
        }
        var updated = alternatives
        updated.shown = shown
        try await store.setReplyAlternatives(updated)
        let text = updated.texts[shown]
        // History follows what is shown, so the next message's prompt holds this alternative.
        try await store.applyEdit(in: key, messageID: last.replyID, newText: text, editedAt: Date())
        let state = ReplyControlState(streaming: false, shown: shown + 1, count: updated.texts.count)
        try await show(text, state: state, replyID: last.replyID, messageIDs: last.messageIDs, in: channel, platform: platform)
    }

    /// Puts `text` into the reply's messages with the counter (as buttons, or as a line where there are none).
    private func show(_ text: String, state: ReplyControlState, replyID: String, messageIDs: [String], in channel: ChannelRef,
                      platform: any PlatformSender) async throws {
        let controlled = platform.replyControls
        let counter = controlled == nil ? state.counter : nil
        let full = counter.map { text + "\n\n" + $0 } ?? text
        guard platform.capabilities.canEdit else {
            // Line platforms cannot edit: the alternative is posted again, marked with its counter.
            for part in MessageSplitter(limit: platform.capabilities.lengthLimit).split((state.counter.map { $0 + " " } ?? "") + text) {
                _ = try await platform.send(part, in: channel, replyTo: nil, as: nil)
            }
            return
        }
        let refs = controls.refs(of: replyID, in: channel.key) ?? messageIDs.map { SentMessageRef(channel: channel, messageID: $0) }
        var parts = MessageSplitter(limit: platform.capabilities.lengthLimit).split(full)
        if parts.count > refs.count, !refs.isEmpty {
            // More text than messages: the last message takes the rest, cut to fit.
            let rest = parts[(refs.count - 1)...].joined(separator: "\n")
            parts = Array(parts[..<(refs.count - 1)]) + [MessageSplitter(limit: platform.capabilities.lengthLimit).split(rest)[0]]
        }
        for (index, ref) in refs.enumerated() {
            try await platform.edit(ref, text: index < parts.count ? parts[index] : "…")
        }
        if controlled != nil, let lastRef = refs.last {
            await moveControls(state, to: lastRef, in: channel, platform: platform, logger: commandLogger)
        }
    }

    /// After a reply is recorded: store its alternatives when it regenerated another, show the counter, move the
    /// controls to this reply. While other replies still stream (or still wait to send their final text) in the
    /// channel the controls wait for the last of them: each move is a message edit in the channel's rate-limit
    /// bucket, which the streaming edits need.
    func replyFinished(_ replyID: String, refs: [SentMessageRef], in channel: ChannelRef, platform: any PlatformSender,
                       alternativesBefore: [String]?, logger: Logger) async {
        let key = Self.key(channel)
        let store = storeForCommands
        controls.setLatest(replyID, refs: refs, in: channel.key)
        var state = ReplyControlState(streaming: false)
        do {
            if let previous = alternativesBefore, !previous.isEmpty,
               let text = try await store.message(in: key, messageID: replyID)?.text {
                let alternatives = ReplyAlternatives(channel: key, replyID: replyID, texts: previous + [text],
                                                     shown: previous.count)
                try await store.setReplyAlternatives(alternatives)
                state = ReplyControlState(streaming: false, shown: alternatives.shown + 1, count: alternatives.texts.count)
                // Without buttons the counter goes into the text; with them the buttons carry it (below).
                if state.count > 1, platform.replyControls == nil {
                    try await show(text, state: state, replyID: replyID, messageIDs: refs.map(\.messageID), in: channel,
                                   platform: platform)
                    return
                }
            }
        } catch {
            logger.error("could not store the reply's alternatives", metadata: ["error": "\(error)"])
        }
        guard platform.replyControls != nil, controls.requesters(in: channel.key).isEmpty, !controls.isDelivering(in: channel.key),
              let last = refs.last else { return }
        await moveControls(state, to: last, in: channel, platform: platform, logger: logger)
    }

    /// Shows `state` on `message` and takes the controls off the message that showed them before.
    private func moveControls(_ state: ReplyControlState, to message: SentMessageRef, in channel: ChannelRef,
                              platform: any PlatformSender, logger: Logger) async {
        guard let controlled = platform.replyControls else { return }
        if let before = controls.moveControls(to: message, in: channel.key), before.messageID != message.messageID {
            try? await controlled.setControls(nil, on: before)
        }
        do {
            try await controlled.setControls(state, on: message)
        } catch {
            logger.warning("could not attach the reply's controls", metadata: ["error": "\(error)"])
        }
    }

    /// A message was deleted: when it was a persona's reply, its record and alternatives go too (it already left
    /// history).
    func replyMessageDeleted(_ messageID: String, in channel: ChannelRef, logger: Logger) async throws {
        let key = Self.key(channel)
        guard let record = try await storeForCommands.reply(id: messageID), record.channel == key else { return }
        try await storeForCommands.removeReply(id: messageID)
        try await storeForCommands.removeReplyAlternatives(in: key, replyID: messageID)
        controls.forget(messageID, in: channel.key)
        logger.info("reply deleted; removed from history", metadata: ["message-id": "\(messageID)"])
    }
}

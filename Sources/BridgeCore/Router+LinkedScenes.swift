import BridgeConfig
import Foundation
import Logging
import ModelClient
import Storage

/// Linked scenes (`[[scenes]]`): channels on several platforms share one history, persona set, memory, budgets and
/// stored settings (everything the router keys by `ChannelRef.key`, which is the scene's for them), and each reply
/// streams to every linked channel through that channel's own sender and edit scheduler.
extension Router {
    /// The event with its channel placed in its linked scene, when the channel is one of a scene's; others as they
    /// came. The adapters' own events stay untouched (their acknowledgements match events by value).
    func placingInLinkedScene(_ event: PlatformEvent) -> PlatformEvent {
        let configuration = configurationForReplies
        guard !configuration.linkedScenes.isEmpty else { return event }
        func placed(_ channel: ChannelRef) -> ChannelRef? {
            guard channel.linkedScene == nil, let scene = configuration.linkedScene(for: channel) else { return nil }
            var channel = channel
            channel.linkedScene = scene.name
            return channel
        }
        switch event {
        case .messageCreated(var message):
            guard let channel = placed(message.channel) else { return event }
            message.channel = channel
            return .messageCreated(message)
        case .messageEdited(let channel, let id, let text, let editor):
            return placed(channel).map { .messageEdited(channel: $0, messageID: id, newText: text, editorID: editor) } ?? event
        case .messageDeleted(let channel, let id):
            return placed(channel).map { .messageDeleted(channel: $0, messageID: id) } ?? event
        case .membership(let channel, let members):
            return placed(channel).map { .membership(channel: $0, members: members) } ?? event
        case .interaction(var request):
            guard let channel = placed(request.channel) else { return event }
            request.channel = channel
            return .interaction(request)
        }
    }

    /// The other channels of `channel`'s linked scene whose platform runs in this process, each with its sender.
    func linkedTargets(of channel: ChannelRef) -> [(channel: ChannelRef, sender: any PlatformSender)] {
        guard let name = channel.linkedScene,
              let scene = configurationForReplies.linkedScenes.first(where: { $0.name == name }) else { return [] }
        var targets: [(channel: ChannelRef, sender: any PlatformSender)] = []
        for link in scene.channels where !(link.platform == channel.platform && link.channelID == channel.channelID) {
            guard let platform = platforms.first(where: { $0.platformName == link.platform }) else {
                commandLogger.debug("linked channel's platform is not running here", metadata: ["channel": "\(link.platformKey)"])
                continue
            }
            var target = link
            target.linkedScene = name
            targets.append((target, ObservedSender.metered(platform, metrics: metrics)))
        }
        return targets
    }

    /// Streams one reply into `channel` and every other channel of its linked scene, each at its own platform's
    /// pace; the model stream is read once. Returns the outcome in `channel`, which is the one stored. A channel
    /// whose platform failed while the model did not (for the trigger's own channel: where nothing reached it) gets
    /// the complete text again as a new message, a few times with a growing wait; one that still fails is logged
    /// and named once in a short notice in `channel`.
    func streamLinked(_ events: AsyncThrowingStream<ModelEvent, any Error>, engine: ReplyEngine, in channel: ChannelRef,
                      replyTo triggerID: String?, as identity: PersonaIdentity?, turn: Int?, notices: ReplyEngine.Notices,
                      platform: any PlatformSender, logger: Logger) async -> ReplyOutcome {
        let targets = linkedTargets(of: channel)
        guard !targets.isEmpty else { return await engine.run(events, in: channel, replyTo: triggerID, as: identity, turn: turn) }
        let fanOut = ModelStreamFanOut(events, readers: 1 + targets.count)
        let engines = targets.map { target in
            ReplyEngine(platform: target.sender, scheduler: scheduler(for: target.channel, platform: target.sender),
                        notices: notices, logger: logger)
        }
        enum Delivered: Sendable {
            case model(ModelStreamFanOut.Result)
            case here(ReplyOutcome)
            case linked(Int, ReplyOutcome)
        }
        var upstream = ModelStreamFanOut.Result()
        var here = ReplyOutcome(text: "", messages: [])
        var linked: [Int: ReplyOutcome] = [:]
        // Each platform's delivery is a task of its own: a slow one (IRC's flood control, a Discord rate limit)
        // only delays itself, while the fan-out keeps every other reader fed.
        await withTaskGroup(of: Delivered.self) { group in
            group.addTask { .model(await fanOut.pump()) }
            group.addTask { .here(await engine.run(fanOut.streams[0], in: channel, replyTo: triggerID, as: identity, turn: turn)) }
            for (index, target) in targets.enumerated() {
                let engine = engines[index]
                let stream = fanOut.streams[index + 1]
                group.addTask { .linked(index, await engine.run(stream, in: target.channel, replyTo: nil, as: identity)) }
            }
            for await delivered in group {
                switch delivered {
                case .model(let result): upstream = result
                case .here(let outcome): here = outcome
                case .linked(let index, let outcome): linked[index] = outcome
                }
            }
        }
        // The model's own failure (or a stop) ended every platform's copy alike, with its notice: nothing to retry.
        guard upstream.error == nil else { return here }
        var failed: [String] = []
        if here.error != nil, here.messages.isEmpty {
            // Nothing reached the trigger's own channel: post it there too (a partial copy stays as it is, with its
            // notice). Through a sender of its own: the streaming history row is the reply's, written once below.
            logger.warning("the trigger's channel failed; posting the reply there again", metadata: ["error": "\(here.error!)"])
            let plain = ReplyEngine(platform: platform, scheduler: scheduler(for: channel, platform: platform), notices: notices,
                                    logger: logger)
            if let retried = await retryLinked(upstream, engine: plain, in: channel, replyTo: triggerID, as: identity, logger: logger) {
                here = retried
                here.usage = upstream.usage
            } else {
                failed.append("\(channel.platform) \(channel.channelName ?? channel.channelID)")
            }
        }
        for (index, target) in targets.enumerated() {
            guard let error = linked[index]?.error else { continue }
            logger.warning("a linked channel failed; posting the reply there again",
                           metadata: ["linked-channel": "\(target.channel.platformKey)", "error": "\(error)"])
            if await retryLinked(upstream, engine: engines[index], in: target.channel, replyTo: nil, as: identity, logger: logger) == nil {
                failed.append("\(target.channel.platform) \(target.channel.channelName ?? target.channel.channelID)")
            }
        }
        if !failed.isEmpty {
            logger.error("a reply did not reach every linked channel", metadata: ["linked-channels": "\(failed.joined(separator: ", "))"])
            let notice = "(this reply did not reach \(failed.joined(separator: ", ")))"
            do {
                _ = try await platform.send(notice, in: channel, replyTo: triggerID, as: nil)
            } catch {
                logger.error("could not post the linked-scene failure notice", metadata: ["error": "\(error)"])
            }
        }
        return here
    }

    /// Posts a finished reply again in a linked channel where it failed: up to `linkRetryAttempts` times, waiting
    /// `linkRetryDelay`, then twice that, before each. The outcome of the attempt that got the whole text there.
    private func retryLinked(_ upstream: ModelStreamFanOut.Result, engine: ReplyEngine, in channel: ChannelRef,
                             replyTo: String?, as identity: PersonaIdentity?, logger: Logger) async -> ReplyOutcome? {
        var delay = configurationForReplies.linkRetryDelay
        for attempt in 1...Self.linkRetryAttempts {
            if delay > .zero {
                do { try await sleepOnRouterClock(for: delay) } catch { return nil }
            }
            delay = delay * 2
            let outcome = await engine.run(ModelStreamFanOut.replay(upstream.text, finishReason: upstream.finishReason),
                                           in: channel, replyTo: replyTo, as: identity)
            guard let error = outcome.error else {
                logger.info("the reply reached the linked channel on a retry",
                            metadata: ["linked-channel": "\(channel.platformKey)", "attempt": "\(attempt)"])
                return outcome
            }
            logger.warning("posting the reply in a linked channel failed again",
                           metadata: ["linked-channel": "\(channel.platformKey)", "attempt": "\(attempt)", "error": "\(error)"])
        }
        return nil
    }

    /// How often a reply is posted again in a linked channel where it failed.
    static let linkRetryAttempts = 3

    /// With `relay_humans`, copies a person's message to the scene's other channels as `[platform] <name> text`.
    /// The copies go out as the bridge's own plain messages through each platform's safe path (no mentions on
    /// Discord, CR/LF stripped on IRC, sanitised on Matrix), so they come back, if at all, as the bridge's own
    /// messages, which are neither recorded nor answered (and never relayed back).
    func relayToLinkedChannels(_ message: IncomingMessage, logger: Logger) async {
        guard let name = message.channel.linkedScene, !message.author.isBot, !message.isOwnMessage,
              configurationForReplies.linkedScenes.first(where: { $0.name == name })?.relayHumans == true else { return }
        let text = Self.relayText(message)
        guard !text.isEmpty else { return }
        let targets = linkedTargets(of: message.channel)
        guard !targets.isEmpty else { return }
        // Unstructured on purpose: when a platform is slow its relay outlives this intake step, so that platform
        // never holds back the reply on the others. It is one send per linked channel, and logs its own failure.
        let (relayed, relaysDone) = AsyncStream.makeStream(of: Void.self)
        Task {
            defer { relaysDone.finish() }
            await withDiscardingTaskGroup { group in
                for target in targets {
                    group.addTask {
                        do {
                            _ = try await target.sender.send(text, in: target.channel, replyTo: nil, as: nil)
                        } catch {
                            logger.warning("could not relay a message to a linked channel",
                                           metadata: ["linked-channel": "\(target.channel.platformKey)", "error": "\(error)"])
                        }
                    }
                }
            }
        }
        // Waited for a moment, so wherever the platform keeps up the relayed line comes before the reply to it.
        await withTaskGroup(of: Void.self) { group in
            // An AsyncStream's wait ends on cancellation too (a task's `value` would not).
            group.addTask { for await _ in relayed {} }
            group.addTask { try? await self.sleepOnRouterClock(for: Self.relayWait) }
            await group.next()
            group.cancelAll()
        }
    }

    /// How long a reply waits for the relay of its trigger to the other linked channels.
    static let relayWait: Duration = .seconds(1)

    /// `[irc] <alice> hi`: the platform and the speaker's name, then the text. Every line carries the label, so a
    /// line of someone's text can never pass for another person's relayed message on IRC (one PRIVMSG per line).
    static func relayText(_ message: IncomingMessage) -> String {
        let name = (message.creditedName ?? message.author.displayName).filter { !$0.isNewline && $0 != "\0" }
        let label = "[\(message.channel.platform)] <\(name)> "
        let lines = message.text.split(omittingEmptySubsequences: true, whereSeparator: \.isNewline)
            .map { String($0).trimmingWhitespaceAndNewlines() }.filter { !$0.isEmpty }
        return lines.map { label + $0 }.joined(separator: "\n")
    }
}

import Logging
import ModelClient

/// How a streamed reply ended.
public struct ReplyOutcome: Sendable {
    /// Everything the model produced (without notices).
    public var text: String
    /// Messages that carry the reply, in order.
    public var messages: [SentMessageRef]
    /// The model's finish reason, when it finished.
    public var finishReason: FinishReason?
    /// Token usage, when reported.
    public var usage: TokenUsage?
    /// The error that stopped the reply, if any.
    public var error: (any Error)?

    /// Whether the model stopped at its length limit.
    public var wasCutOff: Bool { finishReason == .length }
}

/// Streams one model reply into a channel: typing at once, first message on first text, shared-budget edits,
/// overflow into new messages, and a final exact edit (or partial text plus a notice on error).
public struct ReplyEngine: Sendable {
    /// Texts appended to a reply in special cases.
    public struct Notices: Hashable, Sendable {
        /// Appended when the model hit its length limit.
        public var cutOff: String
        /// Appended when the model failed mid-reply; `{reason}` is replaced by a short reason.
        public var failed: String

        /// Creates notices.
        public init(cutOff: String = "(cut off at the length limit — say `!pb continue` to go on)",
                    failed: String = "(reply interrupted: {reason})") {
            self.cutOff = cutOff
            self.failed = failed
        }
    }

    private let platform: any PlatformSender
    private let scheduler: ChannelEditScheduler
    private let splitter: MessageSplitter
    private let notices: Notices
    private let logger: Logger

    /// Creates an engine for one channel of a platform.
    public init(platform: any PlatformSender, scheduler: ChannelEditScheduler, notices: Notices = Notices(),
                maxLength: Int? = nil, logger: Logger) {
        self.platform = platform
        self.scheduler = scheduler
        var limit = platform.capabilities.lengthLimit
        if let maxLength {
            switch limit {
            case .characters(let n): limit = .characters(min(n, maxLength))
            case .utf8Bytes(let n): limit = .utf8Bytes(min(n, maxLength))
            }
        }
        self.splitter = MessageSplitter(limit: limit)
        self.notices = notices
        self.logger = logger
    }

    /// Streams `events` into `channel` and returns when the reply is complete on the platform.
    ///
    /// With a `turn` ticket from the channel's scheduler, the first message waits for the earlier tickets' ones,
    /// so replies streaming side by side start in trigger order.
    public func run(_ events: AsyncThrowingStream<ModelEvent, Error>, in channel: ChannelRef, replyTo: String?,
                    as identity: PersonaIdentity?, turn: Int? = nil) async -> ReplyOutcome {
        await platform.typing(in: channel)
        var writer = platform.capabilities.canEdit
            ? Writer.editing(EditingWriter(platform: platform, scheduler: scheduler, splitter: splitter, channel: channel,
                                           replyTo: replyTo, identity: identity, turn: turn))
            : Writer.lines(LineWriter(platform: platform, splitter: splitter, channel: channel, replyTo: replyTo, identity: identity))
        var outcome = ReplyOutcome(text: "", messages: [])
        do {
            for try await event in events {
                switch event {
                case .delta(let piece):
                    outcome.text += piece
                    try await writer.progress(outcome.text)
                case .finish(let reason):
                    outcome.finishReason = reason
                case .usage(let usage):
                    outcome.usage = usage
                }
            }
            var final = outcome.text
            if outcome.finishReason == .length { final = Self.appending(notices.cutOff, to: final) }
            if final.isEmpty { final = notices.failed.replacingReason("the model sent an empty reply") }
            try await writer.finish(final)
        } catch {
            outcome.error = error
            if let modelError = error as? ModelError, outcome.text.isEmpty, !modelError.partialText.isEmpty {
                outcome.text = modelError.partialText
            }
            let notice = notices.failed.replacingReason(Self.shortReason(error))
            logger.warning("reply interrupted", metadata: ["error": "\(error)"])
            do {
                try await writer.finish(Self.appending(notice, to: outcome.text))
            } catch {
                logger.error("could not finish the interrupted reply", metadata: ["error": "\(error)"])
            }
        }
        if let turn { await scheduler.passTurn(turn) }
        outcome.messages = writer.sent
        return outcome
    }

    static func appending(_ notice: String, to text: String) -> String {
        text.isEmpty ? notice : text + "\n\n" + notice
    }

    static func shortReason(_ error: any Error) -> String {
        if let modelError = error as? ModelError {
            switch modelError.code {
            case .timeout, .idleTimeout: return "the model timed out"
            case .rateLimited: return "the model is rate limited, try again shortly"
            case .unauthorized, .forbidden, .paymentRequired, .missingAPIKey: return "the model service refused the request"
            case .cancelled: return "cancelled"
            default: return "the model service failed (\(modelError.code))"
            }
        }
        if error is CancellationError { return "cancelled" }
        if error is ReplyInterruption { return "the bridge is restarting" }
        if error is ReplyStopped { return "stopped" }
        return "the platform failed"
    }
}

extension String {
    fileprivate func replacingReason(_ reason: String) -> String {
        var result = ""
        var rest = Substring(self)
        while let range = rest.range(of: "{reason}") {
            result += rest[..<range.lowerBound] + reason
            rest = rest[range.upperBound...]
        }
        return result + rest
    }
}

private enum Writer {
    case editing(EditingWriter)
    case lines(LineWriter)

    var sent: [SentMessageRef] {
        switch self {
        case .editing(let w): w.parts.map(\.ref)
        case .lines(let w): w.sent
        }
    }

    mutating func progress(_ text: String) async throws {
        switch self {
        case .editing(var w):
            defer { self = .editing(w) }
            try await w.progress(text)
        case .lines(var w):
            defer { self = .lines(w) }
            try await w.progress(text)
        }
    }

    mutating func finish(_ text: String) async throws {
        switch self {
        case .editing(var w):
            defer { self = .editing(w) }
            try await w.finish(text)
        case .lines(var w):
            defer { self = .lines(w) }
            try await w.finish(text)
        }
    }
}

/// Sends the first part at once and keeps it edited; finished parts get a final edit and the next part starts.
private struct EditingWriter {
    struct Part {
        var ref: SentMessageRef
        var stream: EditStreamID
        var finished = false
    }

    let platform: any PlatformSender
    let scheduler: ChannelEditScheduler
    let splitter: MessageSplitter
    let channel: ChannelRef
    let replyTo: String?
    let identity: PersonaIdentity?
    let turn: Int?
    var parts: [Part] = []

    mutating func progress(_ text: String) async throws {
        try await apply(splitter.split(text), final: false)
    }

    mutating func finish(_ text: String) async throws {
        try await apply(splitter.split(text), final: true)
    }

    private mutating func apply(_ texts: [String], final: Bool) async throws {
        for (index, text) in texts.enumerated() {
            let isLast = index == texts.count - 1
            if index < parts.count {
                guard !parts[index].finished else { continue }
                if isLast && !final {
                    await scheduler.update(parts[index].stream, text: text)
                } else {
                    parts[index].finished = true
                    await scheduler.finish(parts[index].stream, text: text)
                }
            } else {
                // Wait for visible text before the first send; later parts always have some.
                guard final || !text.allSatisfy(\.isWhitespace) else { return }
                let first = parts.isEmpty
                if first, let turn { await scheduler.waitForTurn(turn) }
                let ref: SentMessageRef
                do {
                    ref = try await platform.send(text, in: channel, replyTo: first ? replyTo : nil, as: identity)
                } catch {
                    if first, let turn { await scheduler.passTurn(turn) }
                    throw error
                }
                let stream = await scheduler.open(ref, sentText: text)
                if first, let turn { await scheduler.passTurn(turn) }
                parts.append(Part(ref: ref, stream: stream))
                if !isLast || final {
                    parts[index].finished = true
                    await scheduler.finish(stream, text: text)
                }
            }
        }
    }
}

/// For platforms without edits: sends each complete line or sentence as it forms.
private struct LineWriter {
    let platform: any PlatformSender
    let splitter: MessageSplitter
    let channel: ChannelRef
    let replyTo: String?
    let identity: PersonaIdentity?
    /// UTF-8 offset of the first unsent byte; an offset, not an index, because each call gets a new string.
    var flushed = 0
    var sent: [SentMessageRef] = []

    mutating func progress(_ text: String) async throws {
        let start = index(in: text, at: flushed)
        guard let boundary = Self.lastBoundary(in: text, from: start) else {
            // No boundary yet: still flush whole messages if the line outgrows the limit.
            let parts = splitter.split(String(text[start...]))
            if parts.count > 1 {
                for part in parts.dropLast() { try await send(part) }
                let rest = parts.last!
                flushed = text.utf8.count - rest.utf8.count
            }
            return
        }
        for part in splitter.split(String(text[start..<boundary])) { try await send(part) }
        flushed = text.utf8.distance(from: text.startIndex, to: boundary)
    }

    mutating func finish(_ text: String) async throws {
        // On error/cut-off the notice makes `text` longer than what was streamed; only the rest goes out.
        let start = index(in: text, at: flushed)
        for part in splitter.split(String(text[start...])) { try await send(part) }
        flushed = text.utf8.count
    }

    private func index(in text: String, at offset: Int) -> String.Index {
        let utf8 = text.utf8
        return utf8.index(utf8.startIndex, offsetBy: min(offset, utf8.count))
    }

    private mutating func send(_ text: String) async throws {
        let trimmed = text.trimmingWhitespaceAndNewlines()
        guard !trimmed.isEmpty else { return }
        sent.append(try await platform.send(trimmed, in: channel, replyTo: sent.isEmpty ? replyTo : nil, as: identity))
    }

    /// The end of the last complete line or sentence after `start`.
    static func lastBoundary(in text: String, from start: String.Index) -> String.Index? {
        var index = text.endIndex
        while index > start {
            let before = text.index(before: index)
            if text[before] == "\n" { return index }
            if text[before].isWhitespace, before > start, ".!?…".contains(text[text.index(before: before)]) { return index }
            index = before
        }
        return nil
    }
}

extension String {
    func trimmingWhitespaceAndNewlines() -> String {
        var s = Substring(self)
        while let first = s.first, first.isWhitespace { s.removeFirst() }
        while let last = s.last, last.isWhitespace { s.removeLast() }
        return String(s)
    }
}

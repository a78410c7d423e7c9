/// Turns a completion response (an SSE stream or one JSON body) into `ModelEvent`s: a pure state machine.
///
/// It understands OpenAI-style delta chunks, `finish_reason`, a usage-only final chunk (with
/// `prompt_tokens_details.cached_tokens`), `data: [DONE]`, an `error` object after HTTP 200, MiniMax's
/// `base_resp` (non-zero is an error) and its `input_sensitive` / `output_sensitive` flags (reported as
/// `finish(.contentFilter)`). Usage is emitted once, after `finish`, when the stream completes.
/// A stream that ends without `[DONE]` or a finish reason fails with `truncated` and the partial text.
public struct ModelStreamDecoder: Sendable {
    /// What the caller should do next.
    public enum Action: Hashable, Sendable {
        /// Deliver this event to the consumer.
        case emit(ModelEvent)
        /// The reply is complete: stop reading.
        case complete
        /// The reply failed: end the stream with this error.
        case fail(ModelError)
    }

    private var sse = SSEParser()
    private let context: ModelErrorContext
    private var finishReason: FinishReason?
    private var usage: TokenUsage?
    private var terminal = false
    /// The text delivered so far.
    public private(set) var partialText = ""
    /// Whether any text was delivered (retries are only allowed before this).
    public var hasDeliveredText: Bool { !partialText.isEmpty }
    /// Whether `complete` or `fail` was returned; later input is ignored.
    public var isTerminal: Bool { terminal }
    /// SSE comment lines (keep-alives) seen.
    public var keepAliveCount: Int { sse.commentCount }

    /// Creates a decoder; `context` shapes error messages.
    public init(context: ModelErrorContext = ModelErrorContext()) {
        self.context = context
    }

    /// Feeds raw `text/event-stream` bytes.
    public mutating func feed(_ bytes: some Sequence<UInt8>) -> [Action] {
        guard !terminal else { return [] }
        var actions: [Action] = []
        for event in sse.feed(bytes) {
            decode(event: event, into: &actions)
            if terminal { break }
        }
        if !terminal, let overflow = sse.overflow {
            fail(
                ModelError(
                    code: .invalidResponse,
                    message: "the provider's stream exceeded a size limit (\(overflow)); the reply was cut off.",
                    partialText: partialText, status: 200, provider: context.provider),
                into: &actions)
        }
        return actions
    }

    /// Decodes one SSE event.
    public mutating func decode(event: SSEEvent) -> [Action] {
        var actions: [Action] = []
        decode(event: event, into: &actions)
        return actions
    }

    /// Signals the end of the stream: completes if a finish reason was seen, else fails `truncated`.
    public mutating func endOfStream() -> [Action] {
        guard !terminal else { return [] }
        sse.finish()
        if finishReason != nil {
            return completion()
        }
        terminal = true
        let message =
            partialText.isEmpty
            ? "the response stream ended before any text, without [DONE] or a finish reason (the connection was dropped)."
            : "the response stream ended without [DONE] or a finish reason after \(partialText.count) characters (the connection was dropped); the reply is incomplete."
        return [
            .fail(
                ModelError(
                    code: .truncated, message: message, partialText: partialText, status: 200,
                    provider: context.provider))
        ]
    }

    /// Decodes a complete non-streaming JSON body; returns the same events a stream would, then `complete`.
    public mutating func decodeBody(_ bytes: [UInt8]) -> [Action] {
        guard !terminal else { return [] }
        var actions: [Action] = []
        decodeJSON(bytes, into: &actions)
        if !terminal { actions += completion() }
        return actions
    }

    private mutating func decode(event: SSEEvent, into actions: inout [Action]) {
        guard !terminal else { return }
        // Only unnamed/"message" events carry chunks; others (pings, custom types) are skipped.
        guard event.type == "message" || event.type == "error" else { return }
        let data = event.data
        if data.isEmpty { return }
        if data == "[DONE]" {
            actions += completion()
            return
        }
        decodeJSON(Array(data.utf8), into: &actions)
    }

    private mutating func decodeJSON(_ bytes: [UInt8], into actions: inout [Action]) {
        let chunk: WireChunk
        do {
            chunk = try ChunkJSONReader.read(bytes)
        } catch {
            let preview = String(decoding: bytes.prefix(200), as: UTF8.self)
            fail(
                ModelError(
                    code: .invalidResponse,
                    message: "the provider sent data that is not a valid completion chunk: \(preview)",
                    partialText: partialText, status: 200, provider: context.provider),
                into: &actions)
            return
        }
        if let error = chunk.error {
            let numeric = error.numericCode
            let code = numeric.map(ModelError.code(forStatus:)) ?? .providerError
            fail(
                ModelError.forFailure(
                    code: code, detail: error.message ?? error.type, status: 200, providerCode: error.code,
                    context: context, partialText: partialText),
                into: &actions)
            return
        }
        if let base = chunk.baseResp, let status = base.statusCode, status != 0 {
            let code = ModelError.code(forMiniMaxStatus: status)
            var detail = base.statusMsg ?? ""
            if status == 1026 || status == 1027 {
                detail = "the \(status == 1026 ? "input" : "output") was flagged as sensitive. " + detail
            }
            fail(
                ModelError.forFailure(
                    code: code, detail: detail, status: 200, providerCode: String(status), context: context,
                    partialText: partialText),
                into: &actions)
            return
        }
        let sensitive = chunk.inputSensitive || chunk.outputSensitive
        if let choice = chunk.choice {
            if let text = choice.deltaContent, !text.isEmpty {
                deliver(text, into: &actions)
            } else if !choice.hasDelta, let full = choice.messageContent, !full.isEmpty {
                // A whole message (non-streaming body, or MiniMax's closing chunk repeating the reply).
                if partialText.isEmpty {
                    deliver(full, into: &actions)
                } else if full.hasPrefix(partialText), full.count > partialText.count {
                    deliver(String(full.dropFirst(partialText.count)), into: &actions)
                }
            }
            if let reason = choice.finishReason, !reason.isEmpty {
                setFinish(sensitive ? .contentFilter : FinishReason(wireValue: reason), into: &actions)
            }
        }
        if sensitive { setFinish(.contentFilter, into: &actions) }
        if let wire = chunk.usage, wire.promptTokens != nil || wire.completionTokens != nil {
            usage = TokenUsage(
                promptTokens: wire.promptTokens ?? 0, completionTokens: wire.completionTokens ?? 0,
                cachedTokens: wire.cachedTokens)
        }
    }

    private mutating func deliver(_ text: String, into actions: inout [Action]) {
        // Text after a finish reason would contradict it; providers do not send it, so it is dropped.
        guard finishReason == nil else { return }
        partialText += text
        actions.append(.emit(.delta(text)))
    }

    private mutating func setFinish(_ reason: FinishReason, into actions: inout [Action]) {
        guard finishReason == nil else { return }
        finishReason = reason
        actions.append(.emit(.finish(reason)))
    }

    private mutating func completion() -> [Action] {
        terminal = true
        var actions: [Action] = []
        if finishReason == nil {
            // `[DONE]` without a finish reason still ends the reply normally.
            finishReason = .stop
            actions.append(.emit(.finish(.stop)))
        }
        if let usage { actions.append(.emit(.usage(usage))) }
        actions.append(.complete)
        return actions
    }

    private mutating func fail(_ error: ModelError, into actions: inout [Action]) {
        terminal = true
        actions.append(.fail(error))
    }
}

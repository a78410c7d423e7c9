import Foundation
import HTTPTransport
import Logging
import Synchronization

/// Talks to M2-her through OpenRouter, MiniMax or any OpenAI-compatible API and streams `ModelEvent`s.
///
/// Before the first event it retries 429 (honouring `Retry-After`), 408, 5xx, connect failures and
/// timeouts with exponential backoff and jitter, sleeping on the injected clock. Once an event was
/// delivered a failure ends the stream with a `ModelError` carrying the partial text; it never
/// restarts silently. 400/401/402/403 are not retried. With the `auto` dialect a 400 rejecting an
/// extra role is retried once folded, and the endpoint is remembered in `RoleDialectMemory`.
/// Cancelling the consumer cancels the HTTP transfer. The API key is never logged.
public final class ModelSession: ChatModel {
    /// The configuration this client was made with.
    public let configuration: ModelClientConfiguration
    private let transport: any ModelHTTPTransport
    private let logger: Logger
    private let clock: any Clock<Duration>
    private let dialectMemory: RoleDialectMemory
    private let builder: CompletionRequestBuilder
    private let retryPolicy: RetryPolicy
    private let requestCounter = Mutex<UInt64>(0)

    /// The largest error or non-streaming body read.
    static let maxBodyBytes = 8 * 1024 * 1024

    /// Creates a client; `clock` times backoff sleeps, `dialectMemory` keeps `auto` dialect findings.
    public convenience init(
        configuration: ModelClientConfiguration, httpClient: HTTPClient, logger: Logger,
        clock: any Clock<Duration> = ContinuousClock(), dialectMemory: RoleDialectMemory = .shared
    ) {
        self.init(
            configuration: configuration, transport: httpClient, logger: logger, clock: clock,
            dialectMemory: dialectMemory)
    }

    init(
        configuration: ModelClientConfiguration, transport: any ModelHTTPTransport, logger: Logger,
        clock: any Clock<Duration>, dialectMemory: RoleDialectMemory
    ) {
        self.configuration = configuration
        self.transport = transport
        self.logger = logger
        self.clock = clock
        self.dialectMemory = dialectMemory
        builder = CompletionRequestBuilder(configuration: configuration)
        retryPolicy = RetryPolicy(configuration: configuration)
    }

    /// Starts the request; the stream yields deltas, then finish, then usage, or throws `ModelError`.
    public func stream(_ request: ChatRequest) -> AsyncThrowingStream<ModelEvent, Error> {
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: ModelEvent.self)
        let requestID = requestCounter.withLock { counter in
            counter += 1
            return counter
        }
        // Unstructured on purpose: `stream` returns at once and the caller only holds the stream, so the request
        // cannot be its child; the consumer going away cancels it (`onTermination` below).
        let task = Task { [self] in
            do {
                try await run(request, requestID: requestID, continuation: continuation)
                continuation.finish()
            } catch {
                continuation.finish(throwing: error)
            }
        }
        continuation.onTermination = { termination in
            // Only a consumer that went away cancels; a normal finish leaves the tail drain running.
            if case .cancelled = termination { task.cancel() }
        }
        return stream
    }

    /// The tiny streamed request `persona-bridge check --online` sends: a quick check of key, model and base URL.
    public static let connectionCheckRequest = ChatRequest(
        messages: [
            ChatMessage(role: .system, content: "You are a terse test character.", name: "probe"),
            ChatMessage(role: .user, content: "Say hello in five words or fewer.", name: "operator"),
        ],
        parameters: ModelParameters(temperature: 0.7, topP: 0.95, maxOutputTokens: 32))

    // MARK: - Request lifecycle

    private enum AttemptResult {
        case completed
        case failed(ModelError, retryAfter: Duration?, delivered: Bool, rejectedRole: Bool)
    }

    private func run(
        _ request: ChatRequest, requestID: UInt64, continuation: AsyncThrowingStream<ModelEvent, Error>.Continuation
    ) async throws(ModelError) {
        let provider = configuration.provider
        try configuration.validate()
        try request.parameters.validate()
        guard !request.messages.isEmpty else {
            throw ModelError(
                code: .invalidParameter, message: "the request has no messages; send at least one.", provider: provider)
        }
        let endpoint = configuration.endpointURL
        let context = ModelErrorContext(
            provider: provider, model: builder.model(for: request), keySource: configuration.apiKey.source)
        var logger = self.logger
        for (key, value) in request.logMetadata { logger[metadataKey: key] = "\(value)" }
        logger[metadataKey: "request-id"] = "model-\(requestID)"
        logger[metadataKey: "provider"] = "\(provider.rawValue)"
        logger[metadataKey: "model"] = "\(context.model ?? "")"

        let canFold = RoleFolding.needsFolding(request.messages)
        var folded =
            canFold
            && (configuration.dialect == .folded
                || (configuration.dialect == .auto
                    && dialectMemory.requiresFolding(provider: provider, endpoint: endpoint)))
        var attempts = 0
        var retries = 0
        var random = SystemRandomNumberGenerator()

        while true {
            attempts += 1
            let httpRequest = try builder.httpRequest(for: request, folded: folded)
            logger.debug(
                "model request",
                metadata: [
                    "endpoint": "\(endpoint)", "attempt": "\(attempts)", "folded": "\(folded)",
                    "messages": "\(request.messages.count)", "stream": "\(request.stream)",
                ])
            let result = await attempt(
                httpRequest, request: request, context: context, folded: folded, continuation: continuation,
                logger: logger)
            guard case .failed(let error, let retryAfter, let delivered, let rejectedRole) = result else {
                logger.debug("model request completed", metadata: ["attempts": "\(attempts)"])
                return
            }
            if Task.isCancelled || error.code == .cancelled {
                throw ModelError(
                    code: .cancelled, message: "the request was cancelled by its consumer.",
                    partialText: error.partialText, provider: provider, attempts: attempts)
            }
            if rejectedRole, configuration.dialect == .auto, !folded, canFold {
                dialectMemory.rememberFolding(provider: provider, endpoint: endpoint)
                folded = true
                logger.notice(
                    "provider rejected an M2-her role; retrying once with roles folded into the system text and remembering this endpoint",
                    metadata: ["endpoint": "\(endpoint)", "status": "\(error.status ?? 0)"])
                continue
            }
            if delivered || !error.isRetryableBeforeFirstToken || retries + 1 >= configuration.maxAttempts {
                logger.warning("model request failed", metadata: ["error": "\(error)", "attempts": "\(attempts)"])
                throw error.with(attempts: attempts)
            }
            let delay: Duration
            if let retryAfter {
                guard retryAfter <= retryPolicy.maxRetryAfter else {
                    let waited = ModelError(
                        code: error.code,
                        message: error.message
                            + " The provider asked to wait \(retryAfter), longer than the \(retryPolicy.maxRetryAfter) this client waits.",
                        status: error.status, provider: provider, providerCode: error.providerCode, attempts: attempts)
                    logger.warning("model request failed", metadata: ["error": "\(waited)"])
                    throw waited
                }
                delay = retryAfter
            } else {
                delay = retryPolicy.backoff(retry: retries + 1, using: &random)
            }
            retries += 1
            logger.notice(
                "model request retrying",
                metadata: [
                    "code": "\(error.code)", "status": "\(error.status.map(String.init) ?? "-")",
                    "delay": "\(delay)", "retry": "\(retries)",
                ])
            do {
                try await clock.sleep(for: delay)
            } catch {
                throw ModelError(
                    code: .cancelled, message: "the request was cancelled while waiting to retry.", provider: provider,
                    attempts: attempts)
            }
        }
    }

    /// One HTTP attempt: sends, then streams events to `continuation` until done or failed.
    private func attempt(
        _ httpRequest: HTTPRequest, request: ChatRequest, context: ModelErrorContext, folded: Bool,
        continuation: AsyncThrowingStream<ModelEvent, Error>.Continuation, logger: Logger
    ) async -> AttemptResult {
        let response: HTTPResponse
        do {
            response = try await transport.execute(httpRequest)
        } catch {
            return .failed(map(error, partialText: "", context: context), retryAfter: nil, delivered: false, rejectedRole: false)
        }
        if !(200..<300).contains(response.status) {
            return await failure(for: response, request: request, context: context, folded: folded)
        }

        var decoder = ModelStreamDecoder(context: context)
        var delivered = false
        func apply(_ actions: [ModelStreamDecoder.Action]) -> AttemptResult? {
            for action in actions {
                switch action {
                case .emit(let event):
                    delivered = true
                    if case .delta(let text) = event {
                        logger.trace("model delta", metadata: ["characters": "\(text.count)"])
                    } else {
                        logger.debug("model event", metadata: ["event": "\(event)"])
                    }
                    continuation.yield(event)
                case .complete:
                    return .completed
                case .fail(let error):
                    return .failed(error, retryAfter: nil, delivered: delivered, rejectedRole: false)
                }
            }
            return nil
        }

        let contentType = response.headers["Content-Type"]?.lowercased() ?? ""
        do {
            if !request.stream || contentType.hasPrefix("application/json") {
                let body = try await response.body.collect(upTo: Self.maxBodyBytes)
                if let result = apply(decoder.decodeBody(body)) { return result }
            } else {
                var iterator = response.body.makeAsyncIterator()
                while let chunk = try await iterator.next() {
                    guard let result = apply(decoder.feed(chunk)) else { continue }
                    if case .completed = result {
                        // The consumer is done; reading the few bytes after [DONE] lets curl keep the connection.
                        continuation.finish()
                        await Self.drain(&iterator)
                    }
                    return result
                }
                if let result = apply(decoder.endOfStream()) { return result }
            }
        } catch {
            return .failed(
                map(error, partialText: decoder.partialText, context: context, inBody: true), retryAfter: nil,
                delivered: delivered, rejectedRole: false)
        }
        return .failed(
            ModelError(
                code: .invalidResponse, message: "the response ended in an unexpected state.",
                partialText: decoder.partialText, status: response.status, provider: context.provider),
            retryAfter: nil, delivered: delivered, rejectedRole: false)
    }

    /// Reads what is left of a completed stream (bounded), so the connection can be reused.
    private static func drain(_ iterator: inout HTTPResponseBody.AsyncIterator) async {
        var bytes = 0
        while bytes < 64 * 1024, let chunk = try? await iterator.next() { bytes += chunk.count }
    }

    /// Reads an error response and builds the specific error for its status.
    private func failure(
        for response: HTTPResponse, request: ChatRequest, context: ModelErrorContext, folded: Bool
    ) async -> AttemptResult {
        let body: [UInt8]
        do {
            body = try await response.body.collect(upTo: 64 * 1024)
        } catch let error as HTTPClientError where error.code == .bodyTooLarge {
            body = []
        } catch {
            if Task.isCancelled {
                return .failed(map(error, partialText: "", context: context), retryAfter: nil, delivered: false, rejectedRole: false)
            }
            body = []
        }
        let detail = Self.errorDetail(from: body)
        var code = ModelError.code(forStatus: response.status)
        let sentRoles = Set(builder.messages(for: request, folded: folded).map(\.role)).filter(\.isExtension)
        // FastAPI-based OpenAI-compatible servers answer schema errors (such as a role) with 422.
        let rejectedRole =
            (response.status == 400 || response.status == 422)
            && Self.rejectsRole(body: body, sentExtensionRoles: sentRoles)
        if rejectedRole { code = .roleRejected }
        let error = ModelError.forFailure(
            code: code, detail: detail, status: response.status, providerCode: Self.providerCode(from: body),
            context: context)
        return .failed(
            error, retryAfter: RetryPolicy.parseRetryAfter(response.headers["Retry-After"]), delivered: false,
            rejectedRole: rejectedRole)
    }

    /// Maps a transport failure to a `ModelError`; failures inside a 200 body mean a dropped stream.
    private func map(_ error: any Error, partialText: String, context: ModelErrorContext, inBody: Bool = false)
        -> ModelError
    {
        let provider = context.provider
        guard let error = error as? HTTPClientError else {
            if error is CancellationError {
                return ModelError(code: .cancelled, message: "the request was cancelled.", partialText: partialText, provider: provider)
            }
            return ModelError(code: .transport, message: "\(error)", partialText: partialText, provider: provider)
        }
        let endpoint = configuration.endpointURL
        let code: ModelError.Code
        let message: String
        switch error.code {
        case .cancelled:
            code = .cancelled
            message = "the request was cancelled."
        case .connectTimeout:
            code = .timeout
            message = "could not connect to \(endpoint) within \(configuration.connectTimeout). Check the base URL and the network. (\(error.message))"
        case .connectFailed:
            code = .connectFailed
            message = "could not connect to \(endpoint). Check the base URL and the network. (\(error.message))"
        case .idleTimeout:
            code = .idleTimeout
            message = "\(context.providerName) sent no data for \(configuration.idleTimeout) (the idle timeout)\(partialText.isEmpty ? "" : "; the reply is incomplete")."
        case .totalTimeout:
            code = .timeout
            message = "the request took longer than the total timeout \(configuration.totalTimeout.map { "\($0)" } ?? "")."
        case .tlsFailure:
            code = .transport
            message = "TLS with \(endpoint) failed: \(error.message). Check the base URL and the system's CA certificates."
        case .invalidURL:
            code = .invalidConfiguration
            message = "the endpoint URL \(endpoint) is not valid: \(error.message). Fix the base URL."
        case .bodyTooLarge:
            code = .invalidResponse
            message = "the response body is larger than expected: \(error.message)."
        default:
            if inBody {
                code = .truncated
                message = "the connection was dropped mid-reply (\(error.message)); the reply is incomplete."
            } else {
                code = .transport
                message = "the request to \(endpoint) failed: \(error.message)."
            }
        }
        return ModelError(code: code, message: message, partialText: partialText, provider: provider)
    }
}

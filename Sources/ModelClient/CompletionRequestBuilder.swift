import Foundation
import HTTPTransport

/// Builds the HTTP request for one attempt, per provider: URL, headers and JSON body.
///
/// OpenRouter and OpenAI-compatible endpoints get `max_tokens`, MiniMax (both flavours)
/// `max_completion_tokens`; OpenRouter streams also ask for usage. Only `temperature`,
/// `top_p` and the output cap are sent, the parameters OpenRouter lists for M2-her.
struct CompletionRequestBuilder: Sendable {
    let configuration: ModelClientConfiguration

    /// The model name a request uses.
    func model(for request: ChatRequest) -> String {
        if let model = request.model, !model.isEmpty { return model }
        return configuration.model
    }

    /// The messages as sent, folded or not.
    func messages(for request: ChatRequest, folded: Bool) -> [ChatMessage] {
        folded ? RoleFolding.fold(request.messages) : request.messages
    }

    /// The JSON body.
    func body(for request: ChatRequest, folded: Bool) throws(ModelError) -> [UInt8] {
        let wire = WireRequest(
            model: model(for: request), messages: messages(for: request, folded: folded), stream: request.stream,
            temperature: request.parameters.temperature, topP: request.parameters.topP,
            maxTokens: request.parameters.maxOutputTokens, maxTokensKey: configuration.provider.maxTokensField,
            includeUsage: configuration.provider == .openrouter && request.stream)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        do {
            return Array(try encoder.encode(wire))
        } catch {
            throw ModelError(
                code: .invalidParameter, message: "the request could not be encoded as JSON: \(error)",
                provider: configuration.provider)
        }
    }

    /// The headers; the key goes only into `Authorization`.
    func headers(stream: Bool) -> HTTPHeaders {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/json")
        headers.add(name: "Accept", value: stream ? "text/event-stream" : "application/json")
        headers.add(name: "Authorization", value: "Bearer \(configuration.apiKey.value)")
        if configuration.provider == .openrouter {
            if let referer = configuration.httpReferer { headers.add(name: "HTTP-Referer", value: referer) }
            if let title = configuration.appTitle { headers.add(name: "X-Title", value: title) }
        }
        for name in configuration.extraHeaders.keys.sorted() {
            headers.replaceOrAdd(name: name, value: configuration.extraHeaders[name]!)
        }
        return headers
    }

    /// The full HTTP request for one attempt.
    func httpRequest(for request: ChatRequest, folded: Bool) throws(ModelError) -> HTTPRequest {
        HTTPRequest(
            method: .post, url: configuration.endpointURL, headers: headers(stream: request.stream),
            body: try body(for: request, folded: folded),
            timeouts: HTTPTimeouts(
                connect: configuration.connectTimeout, total: configuration.totalTimeout,
                idle: configuration.idleTimeout))
    }
}

/// The JSON body of a chat completion request.
struct WireRequest: Encodable {
    let model: String
    let messages: [ChatMessage]
    let stream: Bool
    let temperature: Double
    let topP: Double
    let maxTokens: Int
    let maxTokensKey: String
    let includeUsage: Bool

    private struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ string: String) { stringValue = string }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    private struct UsageOption: Encodable { let include = true }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(model, forKey: Key("model"))
        try container.encode(messages, forKey: Key("messages"))
        try container.encode(stream, forKey: Key("stream"))
        try container.encode(temperature, forKey: Key("temperature"))
        try container.encode(topP, forKey: Key("top_p"))
        try container.encode(maxTokens, forKey: Key(maxTokensKey))
        if includeUsage { try container.encode(UsageOption(), forKey: Key("usage")) }
    }
}

@testable import ModelClient

/// Streams in the formats the providers send, used by the split-at-every-offset tests.
enum StreamCorpus {
    static let openRouter = """
        : OPENROUTER PROCESSING

        data: {"id":"gen-1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"role":"assistant","content":"Hello"},"finish_reason":null}]}

        : OPENROUTER PROCESSING

        data: {"id":"gen-1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":", wörld 👋"},"finish_reason":null}]}

        data: {"id":"gen-1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"!"},"finish_reason":"stop"}]}

        data: {"id":"gen-1","object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":120,"completion_tokens":3,"total_tokens":123,"prompt_tokens_details":{"cached_tokens":100}}}

        data: [DONE]


        """

    static let openRouterExpected: [ModelStreamDecoder.Action] = [
        .emit(.delta("Hello")), .emit(.delta(", wörld 👋")), .emit(.delta("!")), .emit(.finish(.stop)),
        .emit(.usage(TokenUsage(promptTokens: 120, completionTokens: 3, cachedTokens: 100))), .complete,
    ]

    /// MiniMax native: no [DONE]; the closing chunk repeats the whole message and carries base_resp.
    static let miniMaxNative = """
        data: {"id":"m1","choices":[{"index":0,"delta":{"content":"Hi","role":"assistant"}}],"object":"chat.completion.chunk","input_sensitive":false,"output_sensitive":false}

        data: {"id":"m1","choices":[{"index":0,"delta":{"content":" there"}}],"object":"chat.completion.chunk"}

        data: {"id":"m1","choices":[{"finish_reason":"length","index":0,"message":{"content":"Hi there","role":"assistant"}}],"usage":{"total_tokens":50,"prompt_tokens":48,"completion_tokens":2},"input_sensitive":false,"output_sensitive":false,"base_resp":{"status_code":0,"status_msg":""}}


        """

    static let miniMaxExpected: [ModelStreamDecoder.Action] = [
        .emit(.delta("Hi")), .emit(.delta(" there")), .emit(.finish(.length)),
        .emit(.usage(TokenUsage(promptTokens: 48, completionTokens: 2))), .complete,
    ]

    static func crlf(_ text: String) -> String { text.replacingOccurrences(of: "\n", with: "\r\n") }
    static func cr(_ text: String) -> String { text.replacingOccurrences(of: "\n", with: "\r") }

    /// Multi-line data (JSON split over lines), an event id and retry field, a named ping event.
    static let multiLine = """
        retry: 3000
        id: 1
        data: {"choices":[{"delta":
        data: {"content":"multi"}}]}

        event: ping
        data: {}

        data: {"choices":[{"delta":{"content":"line"},"finish_reason":"content_filter"}]}

        data: [DONE]


        """

    static let multiLineExpected: [ModelStreamDecoder.Action] = [
        .emit(.delta("multi")), .emit(.delta("line")), .emit(.finish(.contentFilter)), .complete,
    ]

    static let midStreamError = """
        data: {"choices":[{"delta":{"content":"one "}}]}

        data: {"choices":[{"delta":{"content":"two"}}]}

        data: {"id":"x","object":"chat.completion.chunk","error":{"code":502,"message":"Provider disconnected"},"choices":[{"index":0,"delta":{"content":""},"finish_reason":"error"}]}

        data: {"choices":[{"delta":{"content":"ignored"}}]}


        """

    static let baseRespError = """
        data: {"choices":[{"delta":{"content":"x"}}],"base_resp":{"status_code":0,"status_msg":""}}

        data: {"choices":[],"base_resp":{"status_code":1002,"status_msg":"rate limit exceeded"}}


        """

    static let sensitiveOutput = """
        data: {"choices":[{"finish_reason":"stop","index":0,"message":{"content":"","role":"assistant"}}],"input_sensitive":false,"output_sensitive":true,"base_resp":{"status_code":0,"status_msg":"success"}}


        """

    static let truncatedStream = """
        : keep-alive

        data: {"choices":[{"delta":{"content":"cut "}}]}

        data: {"choices":[{"delta":{"content":"off"}}]}

        data: {"choices":[{"delta":{"content":"never ends"
        """

    static let all: [(name: String, text: String)] = [
        ("openrouter", openRouter), ("openrouter-crlf", crlf(openRouter)), ("openrouter-cr", cr(openRouter)),
        ("minimax", miniMaxNative), ("minimax-crlf", crlf(miniMaxNative)), ("multiline", multiLine),
        ("multiline-crlf", crlf(multiLine)), ("error", midStreamError), ("base-resp", baseRespError),
        ("sensitive", sensitiveOutput), ("truncated", truncatedStream), ("truncated-crlf", crlf(truncatedStream)),
    ]
}

/// The fields of an OpenAI-style chunk or body (and MiniMax's additions) that the client reads.
struct WireChunk {
    var choice: WireChoice?
    var usage: WireUsage?
    var error: WireError?
    var baseResp: WireBaseResp?
    var inputSensitive = false
    var outputSensitive = false
}

/// `choices[0]`.
struct WireChoice {
    var hasDelta = false
    var deltaContent: String?
    var messageContent: String?
    var finishReason: String?
}

/// `usage`.
struct WireUsage {
    var promptTokens: Int?
    var completionTokens: Int?
    var cachedTokens: Int?
}

/// An `error` object (or string).
struct WireError {
    /// The code as sent (number or string), as text.
    var code: String?
    var message: String?
    var type: String?
    var numericCode: Int? { code.flatMap { Int($0) } }
}

/// MiniMax's `base_resp`.
struct WireBaseResp {
    var statusCode: Int?
    var statusMsg: String?
}

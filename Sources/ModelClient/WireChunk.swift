import Foundation

/// The fields of an OpenAI-style chunk or body (and MiniMax's additions) that the client reads.
struct WireChunk: Decodable {
    var choices: [WireChoice]?
    var usage: WireUsage?
    var error: WireError?
    var baseResp: WireBaseResp?
    var inputSensitive: LenientBool?
    var outputSensitive: LenientBool?

    enum CodingKeys: String, CodingKey {
        case choices, usage, error
        case baseResp = "base_resp"
        case inputSensitive = "input_sensitive"
        case outputSensitive = "output_sensitive"
    }
}

struct WireChoice: Decodable {
    var delta: WireContent?
    var message: WireContent?
    var finishReason: String?

    enum CodingKeys: String, CodingKey {
        case delta, message
        case finishReason = "finish_reason"
    }
}

struct WireContent: Decodable {
    var content: String?
}

struct WireUsage: Decodable {
    var promptTokens: Int?
    var completionTokens: Int?
    var promptTokensDetails: Details?

    struct Details: Decodable {
        var cachedTokens: Int?
        enum CodingKeys: String, CodingKey { case cachedTokens = "cached_tokens" }
    }

    enum CodingKeys: String, CodingKey {
        case promptTokens = "prompt_tokens"
        case completionTokens = "completion_tokens"
        case promptTokensDetails = "prompt_tokens_details"
    }
}

struct WireError: Decodable {
    var code: LenientString?
    var message: String?
    var type: String?
}

struct WireBaseResp: Decodable {
    var statusCode: Int?
    var statusMsg: String?

    enum CodingKeys: String, CodingKey {
        case statusCode = "status_code"
        case statusMsg = "status_msg"
    }
}

/// A value sent sometimes as a number, sometimes as a string (error codes).
struct LenientString: Decodable {
    var value: String
    var intValue: Int? { Int(value) }

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let int = try? container.decode(Int.self) {
            value = String(int)
        } else if let string = try? container.decode(String.self) {
            value = string
        } else if let double = try? container.decode(Double.self) {
            value = String(double)
        } else {
            value = ""
        }
    }
}

/// A flag sent as a bool or as 0/1.
struct LenientBool: Decodable {
    var value: Bool

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let bool = try? container.decode(Bool.self) {
            value = bool
        } else if let int = try? container.decode(Int.self) {
            value = int != 0
        } else {
            value = false
        }
    }
}

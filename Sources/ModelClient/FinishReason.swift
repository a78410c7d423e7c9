/// Why the model stopped; unknown wire values are kept as they came.
public enum FinishReason: Hashable, Sendable, Codable, CustomStringConvertible {
    /// A natural end of the reply.
    case stop
    /// The output token cap was reached.
    case length
    /// A content filter cut or blocked the output.
    case contentFilter
    /// A value this version does not know.
    case unknown(String)

    /// Maps a wire value (`"stop"`, `"length"`, `"content_filter"`, anything else).
    public init(wireValue: String) {
        switch wireValue {
        case "stop": self = .stop
        case "length": self = .length
        case "content_filter": self = .contentFilter
        default: self = .unknown(wireValue)
        }
    }

    /// The wire value.
    public var wireValue: String {
        switch self {
        case .stop: "stop"
        case .length: "length"
        case .contentFilter: "content_filter"
        case .unknown(let value): value
        }
    }

    /// The wire value.
    public var description: String { wireValue }

    /// Decodes a bare JSON string; unknown strings become `.unknown`.
    public init(from decoder: any Decoder) throws {
        self.init(wireValue: try decoder.singleValueContainer().decode(String.self))
    }

    /// Encodes the wire value.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(wireValue)
    }
}

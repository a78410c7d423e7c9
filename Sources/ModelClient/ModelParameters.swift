/// Sampling parameters M2-her accepts.
public struct ModelParameters: Hashable, Sendable {
    /// The largest output M2-her produces in one reply.
    public static let maximumOutputTokens = 2048

    /// Sampling temperature, in (0, 1].
    public var temperature: Double
    /// Nucleus sampling mass, in (0, 1].
    public var topP: Double
    /// Output token cap, 1…2048.
    public var maxOutputTokens: Int

    /// Creates parameters; M2-her's documented defaults are 1.0 / 0.95 / 2048.
    public init(temperature: Double = 1.0, topP: Double = 0.95, maxOutputTokens: Int = 2048) {
        self.temperature = temperature
        self.topP = topP
        self.maxOutputTokens = maxOutputTokens
    }

    /// Throws an `invalidParameter` error naming the first value out of range.
    public func validate() throws(ModelError) {
        // `!(x > 0 && x <= 1)` also rejects NaN.
        if !(temperature > 0 && temperature <= 1) {
            throw ModelError(
                code: .invalidParameter,
                message: "temperature must be greater than 0 and at most 1 (M2-her accepts (0, 1]); got \(temperature). Set a temperature such as 1.0 in the persona or model settings.")
        }
        if !(topP > 0 && topP <= 1) {
            throw ModelError(
                code: .invalidParameter,
                message: "top_p must be greater than 0 and at most 1 (M2-her accepts (0, 1]); got \(topP). Set top_p such as 0.95 in the persona or model settings.")
        }
        if !(1...Self.maximumOutputTokens).contains(maxOutputTokens) {
            throw ModelError(
                code: .invalidParameter,
                message: "max output tokens must be between 1 and \(Self.maximumOutputTokens) (M2-her's output limit); got \(maxOutputTokens). Lower max_output_tokens in the persona or model settings.")
        }
    }
}

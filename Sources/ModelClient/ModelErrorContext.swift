/// What an error message may mention to tell the user what to fix (never the key itself).
public struct ModelErrorContext: Sendable, Hashable {
    /// The provider being called.
    public var provider: ModelProvider?
    /// The model name sent.
    public var model: String?
    /// Where the API key came from.
    public var keySource: APIKey.Source?

    /// Creates a context.
    public init(provider: ModelProvider? = nil, model: String? = nil, keySource: APIKey.Source? = nil) {
        self.provider = provider
        self.model = model
        self.keySource = keySource
    }

    /// The environment variable a user should set or check.
    var keyVariable: String {
        if case .environment(let name) = keySource { return name }
        return provider?.defaultAPIKeyEnvironmentVariable ?? "the API key variable"
    }

    /// Where to look for the key, phrased for a sentence.
    var keyHint: String {
        switch keySource {
        case .environment(let name): "the key in the environment variable \(name)"
        case .file(let path): "the key in the key file \(path) (or \(provider?.defaultAPIKeyEnvironmentVariable ?? "the key variable"))"
        case .direct, nil: "the API key (\(keyVariable))"
        }
    }

    var providerName: String { provider?.rawValue ?? "the provider" }
    var modelName: String { model.map { "'\($0)'" } ?? "the configured model" }
}

extension ModelError {
    /// Builds the specific, human-readable error for a provider failure code such as an HTTP status.
    ///
    /// `detail` is the provider's own message; `status` is the HTTP status (200 for in-stream errors).
    static func forFailure(
        code: Code, detail: String?, status: Int?, providerCode: String? = nil, context: ModelErrorContext,
        partialText: String = ""
    ) -> ModelError {
        let said = detail.map { $0.isEmpty ? "" : " The provider said: \($0)" } ?? ""
        let statusText = status.map { $0 == 200 ? "in a 200 response" : "HTTP \($0)" } ?? "provider error"
        let message: String
        switch code {
        case .unauthorized:
            message = "the API key was rejected (\(statusText)). Check \(context.keyHint): it is missing, wrong, revoked or for another provider than \(context.providerName).\(said)"
        case .paymentRequired:
            message = "the \(context.providerName) account has no credits left (\(statusText)). Add credits to the account that owns \(context.keyHint), or lower max output tokens.\(said)"
        case .forbidden:
            message = "the API key may not use model \(context.modelName) here (\(statusText)). Check the key's permissions and limits for \(context.keyHint), and the model name.\(said)"
        case .notFound:
            message = "model \(context.modelName) or the endpoint was not found (\(statusText)). Check the model name and the base URL.\(said)"
        case .badRequest:
            message = "\(context.providerName) rejected the request (\(statusText)). Check the model name \(context.modelName) and the parameters temperature, top_p and max output tokens.\(said)"
        case .roleRejected:
            message = "\(context.providerName) rejected an M2-her message role (\(statusText)). Set the model dialect to \"folded\" (or \"auto\") so user_system, group and sample roles are folded into the system text.\(said)"
        case .rateLimited:
            message = "\(context.providerName) is rate limiting requests (\(statusText)). Wait a little, send fewer requests, or raise the account's limits.\(said)"
        case .timeout:
            message = "\(context.providerName) timed out (\(statusText)). Try again; if it persists, check the base URL and the network.\(said)"
        case .serverError:
            message = "\(context.providerName) had a server error (\(statusText)). Try again later.\(said)"
        default:
            message = "\(context.providerName) reported an error (\(statusText)).\(said)"
        }
        return ModelError(
            code: code, message: message, partialText: partialText, status: status, provider: context.provider,
            providerCode: providerCode)
    }

    /// The error code for an HTTP-like status number.
    static func code(forStatus status: Int) -> Code {
        switch status {
        case 400, 422: .badRequest
        case 401: .unauthorized
        case 402: .paymentRequired
        case 403: .forbidden
        case 404: .notFound
        case 408: .timeout
        case 429: .rateLimited
        case 500...599: .serverError
        default: .providerError
        }
    }

    /// The error code for a MiniMax `base_resp.status_code`.
    static func code(forMiniMaxStatus status: Int) -> Code {
        switch status {
        case 1001: .timeout
        case 1002, 1041: .rateLimited
        case 1004, 2049: .unauthorized
        case 1008: .paymentRequired
        case 1000, 1013, 1024, 1033: .serverError
        case 1039, 2013: .badRequest
        default: .providerError
        }
    }

    /// Whether a retry may help, given nothing was delivered yet.
    var isRetryableBeforeFirstToken: Bool {
        [.rateLimited, .timeout, .idleTimeout, .serverError, .connectFailed].contains(code)
    }
}

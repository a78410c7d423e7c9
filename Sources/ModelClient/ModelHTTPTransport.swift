import HTTPTransport

/// The one HTTP call the model client makes; `HTTPClient` in production, fakes in unit tests.
protocol ModelHTTPTransport: Sendable {
    func execute(_ request: HTTPRequest) async throws -> HTTPResponse
}

extension HTTPClient: ModelHTTPTransport {}

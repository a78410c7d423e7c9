import HTTPTransport
import Testing

@Suite struct HTTPHeadersTests {
    @Test func lookupIgnoresCaseAndKeepsOrder() {
        var headers: HTTPHeaders = ["Content-Type": "text/plain"]
        headers.add(name: "Set-Cookie", value: "a=1")
        headers.add(name: "set-cookie", value: "b=2")
        #expect(headers["content-type"] == "text/plain")
        #expect(headers["SET-COOKIE"] == "a=1")
        #expect(headers.values(for: "Set-Cookie") == ["a=1", "b=2"])
        #expect(headers["missing"] == nil)
        #expect(Array(headers).map(\.name) == ["Content-Type", "Set-Cookie", "set-cookie"])
    }

    @Test func descriptionNeverShowsValues() {
        let headers: HTTPHeaders = ["Authorization": "Bearer sk-secret"]
        #expect(!headers.description.contains("sk-secret"))
        #expect(headers.description.contains("Authorization"))
    }

    @Test func errorCodesAreDistinct() {
        let codes: [HTTPClientError.Code] = [
            .connectTimeout, .idleTimeout, .totalTimeout, .connectFailed, .tlsFailure, .cancelled, .bodyTooLarge,
            .invalidURL, .shutdown, .transport, .invalidRequest,
        ]
        #expect(Set(codes).count == codes.count)
    }
}

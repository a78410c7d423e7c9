import Foundation
import HTTPTransport
import Logging
import Synchronization

/// Client-server API calls over the libcurl transport. One attempt per call: retries are the caller's policy.
public final class MatrixClient: Sendable {
    /// The homeserver base URL, without a trailing slash.
    public let homeserver: String
    let http: HTTPClient
    private let token: Mutex<String?>
    private let dropResponses = Mutex(0)
    private let logger: Logger

    /// Creates a client; `accessToken` may be set later by `login`.
    public init(homeserver: String, http: HTTPClient, accessToken: String? = nil, logger: Logger) {
        var base = homeserver
        while base.hasSuffix("/") { base.removeLast() }
        self.homeserver = base
        self.http = http
        self.token = Mutex(accessToken)
        self.logger = logger
    }

    /// The access token in use.
    public var accessToken: String? { token.withLock { $0 } }

    /// Replaces the access token.
    public func setAccessToken(_ value: String?) { token.withLock { $0 = value } }

    /// Test hook: the next `count` sends reach the server but their responses are thrown away, as after a timeout.
    public func dropResponsesOfNextSends(_ count: Int) { dropResponses.withLock { $0 = count } }

    /// Percent-encodes one path segment (room IDs hold `!` and `:`).
    public static func segment(_ value: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return value.addingPercentEncoding(withAllowedCharacters: allowed) ?? value
    }

    /// One request to `/_matrix/client/v3` + `path` (or an absolute API path starting with `/_`); the JSON answer.
    @discardableResult
    public func call(_ method: HTTPMethod, _ path: String, query: [(String, String)] = [], body: MatrixJSON? = nil,
                     timeout: Duration = .seconds(30), authenticated: Bool = true) async throws(MatrixError) -> MatrixJSON {
        let bytes = try await raw(method, path, query: query, body: body, timeout: timeout, authenticated: authenticated)
        if bytes.isEmpty { return [:] }
        do { return try MatrixJSON.parse(bytes) } catch {
            throw MatrixError(.badResponse, "the answer is not JSON", request: "\(method) \(Self.redacted(path))")
        }
    }

    /// Like `call` but returns the raw body bytes (at most `maxBytes`).
    /// `upload` sends bytes of its own content type instead of a JSON `body` (media uploads).
    public func raw(_ method: HTTPMethod, _ path: String, query: [(String, String)] = [], body: MatrixJSON? = nil,
                    timeout: Duration = .seconds(30), authenticated: Bool = true,
                    maxBytes: Int = 32 * 1024 * 1024,
                    upload: (bytes: [UInt8], contentType: String)? = nil) async throws(MatrixError) -> [UInt8] {
        let what = "\(method) \(Self.redacted(path))"
        var url = homeserver + (path.hasPrefix("/_") ? path : "/_matrix/client/v3" + path)
        if !query.isEmpty {
            var allowed = CharacterSet.alphanumerics
            allowed.insert(charactersIn: "-._~")
            url += "?" + query.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: allowed) ?? $0.1)" }
                .joined(separator: "&")
        }
        var headers: HTTPHeaders = ["Accept": "application/json"]
        if authenticated, let token = accessToken { headers.add(name: "Authorization", value: "Bearer \(token)") }
        var payload: [UInt8]?
        if let body {
            payload = body.bytes
            headers.add(name: "Content-Type", value: "application/json")
        } else if let upload {
            payload = upload.bytes
            headers.add(name: "Content-Type", value: upload.contentType)
        }
        let request = HTTPRequest(method: method, url: url, headers: headers, body: payload,
                                  timeouts: HTTPTimeouts(connect: .seconds(10), total: timeout))
        let response: HTTPResponse
        let data: [UInt8]
        do {
            response = try await http.execute(request)
            data = try await response.body.collect(upTo: maxBytes)
        } catch let error as HTTPClientError {
            throw MatrixError(.transport, "\(error.code): \(error.message)", request: what)
        } catch {
            throw MatrixError(.transport, "\(error)", request: what)
        }
        if method == .put, path.contains("/send/"), dropResponses.withLock({ n in n > 0 ? { n -= 1; return true }() : false }) {
            throw MatrixError(.transport, "response dropped by the test hook", request: what)
        }
        guard (200..<300).contains(response.status) else {
            let json = try? MatrixJSON.parse(data)
            let errcode = json?["errcode"]?.string
            let message = json?["error"]?.string ?? "HTTP \(response.status)"
            var error = MatrixError(.server, message, status: response.status, errcode: errcode, request: what)
            if errcode == "M_UNKNOWN_TOKEN" { error.code = .unknownToken }
            if response.status == 429 || errcode == "M_LIMIT_EXCEEDED" {
                error.code = .rateLimited
                error.retryAfter = MatrixRateLimiter.retryAfter(header: response.headers["Retry-After"],
                                                               milliseconds: json?["retry_after_ms"]?.int)
            }
            throw error
        }
        return data
    }

    /// Paths with secrets never reach logs; none of ours carry any, but keep the query out.
    static func redacted(_ path: String) -> String {
        String(path.prefix { $0 != "?" })
    }
}

extension MatrixClient {
    /// Who the token belongs to: user ID and device ID.
    public func whoami() async throws(MatrixError) -> (userID: String, deviceID: String?) {
        let json = try await call(.get, "/account/whoami")
        guard let user = json["user_id"]?.string else { throw MatrixError(.badResponse, "whoami has no user_id") }
        return (user, json["device_id"]?.string)
    }

    /// Password login; reuses `deviceID` when given so the device list does not grow.
    public func login(user: String, password: String, deviceID: String?, deviceName: String?) async throws(MatrixError)
        -> (userID: String, accessToken: String, deviceID: String)
    {
        var body: [String: MatrixJSON] = [
            "type": "m.login.password", "identifier": ["type": "m.id.user", "user": .string(user)],
            "password": .string(password),
        ]
        if let deviceID { body["device_id"] = .string(deviceID) }
        if let deviceName { body["initial_device_display_name"] = .string(deviceName) }
        let json = try await call(.post, "/login", body: .object(body), authenticated: false)
        guard let token = json["access_token"]?.string, let device = json["device_id"]?.string,
            let userID = json["user_id"]?.string
        else { throw MatrixError(.badResponse, "login answer lacks access_token, device_id or user_id") }
        setAccessToken(token)
        return (userID, token, device)
    }

    /// One `/sync` long-poll.
    public func sync(since: String?, filter: String, timeout: Duration) async throws(MatrixError) -> MatrixSyncResponse {
        var query = [("filter", filter), ("timeout", String(Int(timeout.components.seconds * 1000)))]
        if let since { query.append(("since", since)) }
        let bytes = try await raw(.get, "/sync", query: query, timeout: timeout + .seconds(30))
        return try MatrixSyncResponse.decode(bytes)
    }

    /// Joins a room (accepting an invite).
    public func join(_ roomID: String) async throws(MatrixError) {
        try await call(.post, "/rooms/\(Self.segment(roomID))/join", body: [:])
    }

    /// Leaves a room (declining an invite).
    public func leave(_ roomID: String) async throws(MatrixError) {
        try await call(.post, "/rooms/\(Self.segment(roomID))/leave", body: [:])
    }

    /// `PUT …/send/m.room.message/{txnId}`; the event ID (the original one when the txnId was used before).
    @discardableResult
    public func send(_ roomID: String, txnID: String, content: MatrixJSON, type: String = "m.room.message")
        async throws(MatrixError) -> String
    {
        let json = try await call(.put, "/rooms/\(Self.segment(roomID))/send/\(Self.segment(type))/\(Self.segment(txnID))",
                                  body: content)
        guard let id = json["event_id"]?.string else { throw MatrixError(.badResponse, "send answer has no event_id") }
        return id
    }

    /// Typing notification.
    public func typing(_ roomID: String, userID: String, typing: Bool, timeout: Duration = .seconds(30)) async throws(MatrixError) {
        var body: [String: MatrixJSON] = ["typing": .bool(typing)]
        if typing { body["timeout"] = .number(Double(timeout.components.seconds * 1000)) }
        try await call(.put, "/rooms/\(Self.segment(roomID))/typing/\(Self.segment(userID))", body: .object(body))
    }

    /// A state event's content, or `nil` when the room has none.
    public func state(_ roomID: String, type: String, stateKey: String = "") async throws(MatrixError) -> MatrixJSON? {
        do {
            return try await call(.get, "/rooms/\(Self.segment(roomID))/state/\(Self.segment(type))/\(Self.segment(stateKey))")
        } catch where error.status == 404 {
            return nil
        }
    }

    /// The room's full current state.
    public func fullState(_ roomID: String) async throws(MatrixError) -> [MatrixEvent] {
        let json = try await call(.get, "/rooms/\(Self.segment(roomID))/state")
        return (json.array ?? []).compactMap(MatrixEvent.init(json:))
    }
}

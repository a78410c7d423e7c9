import BridgeCore
import Foundation
import HTTPTransport
import Logging
import Synchronization

/// What PluralKit knows of a proxied message (`GET /v2/messages/{id}`); only the fields the bridge uses.
public struct PluralKitMessage: Decodable, Sendable, Hashable {
    /// A PluralKit member (the name the message is credited to).
    public struct Member: Decodable, Sendable, Hashable {
        /// Five-letter member id.
        public var id: String?
        /// The member's name.
        public var name: String?
        /// The name shown instead of `name`, when set.
        public var displayName: String?

        enum CodingKeys: String, CodingKey {
            case id, name
            case displayName = "display_name"
        }
    }

    /// The proxied (webhook) message id.
    public var id: String
    /// The deleted original's id.
    public var original: String?
    /// The Discord user who sent the original.
    public var sender: String
    /// Channel id.
    public var channel: String?
    /// The member proxied as, when PluralKit tells.
    public var member: Member?

    /// The member's shown name.
    public var memberName: String? {
        [member?.displayName, member?.name].compactMap { $0 }.first { !$0.isEmpty }
    }
}

/// A failed PluralKit look-up, with the message id it was for.
public struct PluralKitError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Failure kind.
    public enum Code: Hashable, Sendable {
        /// 404: PluralKit did not proxy this message (another proxy, a relay, a plain webhook).
        case notProxied
        /// 429s beyond what the wait allows, or the local 2/s limit would wait too long.
        case rateLimited
        /// No answer in time.
        case timedOut
        /// The connection failed.
        case transport
        /// Another status, or a body that is not a message.
        case badResponse
    }
    /// Failure kind.
    public let code: Code
    /// The message asked about.
    public let messageID: String
    /// HTTP status, when one arrived.
    public let status: Int?
    /// What went wrong, without secrets.
    public let detail: String

    /// Creates an error.
    public init(code: Code, messageID: String, status: Int? = nil, detail: String) {
        self.code = code
        self.messageID = messageID
        self.status = status
        self.detail = detail
    }

    /// `pluralkit <code> for message <id> (<status>): <detail>`.
    public var description: String {
        "pluralkit \(code) for message \(messageID)\(status.map { " (HTTP \($0))" } ?? ""): \(detail)"
    }
}

/// PluralKit's API, as the bridge uses it: who sent a proxied message. Keeps PluralKit's limit of 2 requests per
/// second (a rolling window on the injected clock, so no second ever holds three), waits out a 429's Retry-After, and caches answers briefly, since
/// the same message may be asked about by its copy and its original.
public final class PluralKitClient: Sendable {
    /// Requests per second PluralKit allows.
    public static let requestsPerSecond = 2

    /// The limit as a rolling window: the last two request starts, and a 429's Retry-After.
    private struct Window {
        var starts: [Duration] = []
        /// No request before this (a 429's Retry-After).
        var blockedUntil: Duration = .zero
    }

    private enum Cached {
        case message(PluralKitMessage)
        case notProxied
    }

    private let baseURL: String
    private let http: HTTPClient
    private let clock: ElapsedClock
    private let logger: Logger
    /// How long one look-up may wait for its turn (local limit or Retry-After) before it gives up: the answer is
    /// only useful while the message it is for waits.
    let maxWait: Duration
    /// Per-request time limit.
    let timeout: Duration
    /// How long an answer is reused.
    let cacheLifetime: Duration
    private let window = Mutex(Window())
    private let cache = Mutex<[String: (value: Cached, at: Duration)]>([:])
    private let counters = Mutex<(requests: Int, rateLimited: Int)>((0, 0))

    /// Creates a client for the API at `baseURL` (without `/v2`).
    public init(baseURL: String, http: HTTPClient, clock: ElapsedClock, maxWait: Duration = .seconds(2),
                timeout: Duration = .seconds(3), cacheLifetime: Duration = .seconds(60), logger: Logger) {
        var base = baseURL
        while base.hasSuffix("/") { base.removeLast() }
        self.baseURL = base
        self.http = http
        self.clock = clock
        self.maxWait = maxWait
        self.timeout = timeout
        self.cacheLifetime = cacheLifetime
        self.logger = logger
    }

    /// Requests sent and 429s received so far (tests read them).
    public var stats: (requests: Int, rateLimited: Int) { counters.withLock { $0 } }

    /// The proxied message `id` names (the copy's id or the original's); throws `.notProxied` for a message
    /// PluralKit did not proxy.
    public func message(_ id: String) async throws(PluralKitError) -> PluralKitMessage {
        if let hit = cached(id) {
            switch hit {
            case .message(let message): return message
            case .notProxied: throw PluralKitError(code: .notProxied, messageID: id, detail: "not a PluralKit message (cached)")
            }
        }
        guard id.allSatisfy({ $0.isASCII && $0.isNumber }), !id.isEmpty else {
            throw PluralKitError(code: .badResponse, messageID: id, detail: "not a message id")
        }
        for _ in 0..<3 {
            try await takeTurn(id)
            let response: HTTPResponse
            let body: [UInt8]
            do {
                counters.withLock { $0.requests += 1 }
                response = try await http.execute(HTTPRequest(url: "\(baseURL)/v2/messages/\(id)",
                                                              headers: ["Accept": "application/json"],
                                                              timeouts: HTTPTimeouts(connect: timeout, total: timeout)))
                body = try await response.body.collect(upTo: 256 << 10)
            } catch let error as HTTPClientError {
                let timedOut = [.connectTimeout, .totalTimeout, .idleTimeout].contains(error.code)
                throw PluralKitError(code: timedOut ? .timedOut : .transport, messageID: id, detail: error.message)
            } catch {
                throw PluralKitError(code: .transport, messageID: id, detail: "\(error)")
            }
            switch response.status {
            case 200:
                guard let message = try? JSONDecoder().decode(PluralKitMessage.self, from: Data(body)) else {
                    throw PluralKitError(code: .badResponse, messageID: id, status: 200, detail: "the body is not a PluralKit message")
                }
                store(.message(message), for: [id, message.id] + [message.original].compactMap { $0 })
                return message
            case 404:
                store(.notProxied, for: [id])
                throw PluralKitError(code: .notProxied, messageID: id, status: 404, detail: "not a PluralKit message")
            case 429:
                counters.withLock { $0.rateLimited += 1 }
                let retry = Self.retryAfter(response.headers, body: body)
                logger.debug("pluralkit rate limited", metadata: ["retry-after": "\(retry)"])
                window.withLock { w in w.blockedUntil = max(w.blockedUntil, clock.now + retry) }
            default:
                throw PluralKitError(code: .badResponse, messageID: id, status: response.status,
                                     detail: String(decoding: body.prefix(200), as: UTF8.self))
            }
        }
        throw PluralKitError(code: .rateLimited, messageID: id, status: 429, detail: "still rate limited after retrying")
    }

    /// Waits for a request slot: at most 2 starts in any second, none before a Retry-After ends; gives up when that
    /// is more than `maxWait` away (the slot is not taken then).
    private func takeTurn(_ id: String) async throws(PluralKitError) {
        let now = clock.now
        let start: Duration? = window.withLock { w in
            var start = max(now, w.blockedUntil)
            if w.starts.count >= Self.requestsPerSecond {
                // A little past the second, so the server's clock never sees three in one.
                start = max(start, w.starts[w.starts.count - Self.requestsPerSecond] + .seconds(1) + .milliseconds(20))
            }
            guard start - now <= maxWait else { return nil }
            w.starts.append(start)
            if w.starts.count > Self.requestsPerSecond { w.starts.removeFirst(w.starts.count - Self.requestsPerSecond) }
            return start
        }
        guard let start else {
            throw PluralKitError(code: .rateLimited, messageID: id, detail: "the 2 requests/s limit would hold this look-up too long")
        }
        if start > now {
            do { try await clock.sleep(until: start) } catch {
                throw PluralKitError(code: .transport, messageID: id, detail: "cancelled")
            }
        }
    }

    /// Retry-After in seconds (header), else the body's `retry_after` in milliseconds; a second when neither is there.
    static func retryAfter(_ headers: HTTPHeaders, body: [UInt8]) -> Duration {
        if let text = headers["Retry-After"], let seconds = Double(text.trimmingCharacters(in: .whitespaces)), seconds >= 0 {
            return .milliseconds(Int(min(seconds, 60) * 1000))
        }
        if let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any],
           let milliseconds = (object["retry_after"] as? NSNumber)?.doubleValue, milliseconds >= 0 {
            return .milliseconds(Int(min(milliseconds, 60_000)))
        }
        return .seconds(1)
    }

    private func cached(_ id: String) -> Cached? {
        let now = clock.now
        return cache.withLock { c in
            guard let entry = c[id] else { return nil }
            guard now - entry.at <= cacheLifetime else {
                c[id] = nil
                return nil
            }
            return entry.value
        }
    }

    private func store(_ value: Cached, for ids: [String]) {
        let now = clock.now
        cache.withLock { c in
            // Bounded: old answers go first; a message is only asked about while it is new.
            if c.count > 2_048 { c = c.filter { now - $0.value.at <= cacheLifetime } }
            if c.count > 2_048 { c.removeAll() }
            for id in ids { c[id] = (value, now) }
        }
    }
}

import Foundation

/// The homeserver → appservice endpoints the bridge answers, parsed from method and path. Pure.
public enum MatrixAppserviceRoute: Hashable, Sendable {
    /// `PUT /_matrix/app/v1/transactions/{txnId}`.
    case transaction(String)
    /// `GET /_matrix/app/v1/users/{userId}`.
    case user(String)
    /// `GET /_matrix/app/v1/rooms/{roomAlias}`.
    case room(String)
    /// `POST /_matrix/app/v1/ping`.
    case ping
    /// Anything else (404 `M_UNRECOGNIZED`).
    case unknown

    /// Parses a request; the legacy unprefixed paths (`/transactions/…`) are accepted too.
    public init(method: String, path: String) {
        var rest = Substring(path.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
        if rest.hasPrefix("/_matrix/app/v1/") { rest = rest.dropFirst("/_matrix/app/v1".count) }
        let parts = rest.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        guard parts.count == 2 || (parts.count == 1 && parts.first == "ping") else {
            self = .unknown
            return
        }
        let value = parts.count == 2 ? (String(parts.last!).removingPercentEncoding ?? String(parts.last!)) : ""
        switch (method, parts.first!) {
        case ("PUT", "transactions") where !value.isEmpty: self = .transaction(value)
        case ("GET", "users") where !value.isEmpty: self = .user(value)
        case ("GET", "rooms") where !value.isEmpty: self = .room(value)
        case ("POST", "ping"): self = .ping
        default: self = .unknown
        }
    }

    /// The credential the homeserver sent: `Authorization: Bearer …`, else the legacy `access_token` parameter.
    public static func credential(authorization: String?, accessTokenParameter: String?) -> String? {
        if let authorization, authorization.hasPrefix("Bearer ") { return String(authorization.dropFirst("Bearer ".count)) }
        return accessTokenParameter
    }

    /// Compares a presented token with the expected one without an early exit (time does not reveal how much
    /// of a guess was right).
    public static func tokensMatch(_ given: String, _ expected: String) -> Bool {
        let a = Array(given.utf8)
        let b = Array(expected.utf8)
        var difference = UInt8(a.count == b.count ? 0 : 1)
        for index in 0..<max(a.count, b.count) {
            difference |= (index < a.count ? a[index] : 0) ^ (index < b.count ? b[index] : 0xFF)
        }
        return difference == 0
    }
}

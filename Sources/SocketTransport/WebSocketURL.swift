/// A parsed ws:// or wss:// URL.
public struct WebSocketURL: Hashable, Sendable {
    /// Whether the scheme is wss.
    public var secure: Bool
    /// Host name or address (IPv6 without brackets).
    public var host: String
    /// TCP port (default 80 or 443).
    public var port: Int
    /// Path and query, at least "/".
    public var pathAndQuery: String

    /// Parses `string`; nil if it is not a usable ws:// or wss:// URL.
    public init?(_ string: String) {
        let lower = string.lowercased()
        let rest: Substring
        if lower.hasPrefix("wss://") {
            secure = true
            rest = string.dropFirst(6)
        } else if lower.hasPrefix("ws://") {
            secure = false
            rest = string.dropFirst(5)
        } else {
            return nil
        }
        let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) ?? rest.endIndex
        var authority = rest[rest.startIndex..<authorityEnd]
        var tail = String(rest[authorityEnd...])
        if let hash = tail.firstIndex(of: "#") { tail = String(tail[..<hash]) }
        if tail.hasPrefix("?") { tail = "/" + tail }
        pathAndQuery = tail.isEmpty ? "/" : tail
        if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            host = String(authority[authority.index(after: authority.startIndex)..<close])
            let after = authority[authority.index(after: close)...]
            if after.hasPrefix(":") { portText = after.dropFirst() } else if !after.isEmpty { return nil }
        } else if let colon = authority.lastIndex(of: ":") {
            host = String(authority[..<colon])
            portText = authority[authority.index(after: colon)...]
        } else {
            host = String(authority)
        }
        guard !host.isEmpty, !host.contains(where: { $0 == " " || $0 == "\t" }) else { return nil }
        if let portText {
            guard let value = Int(portText), (1...65535).contains(value) else { return nil }
            port = value
        } else {
            port = secure ? 443 : 80
        }
    }
}

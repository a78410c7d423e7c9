import BridgeCore

/// An IRCv3 `server-time` tag value (`2026-11-24T13:52:25.000Z`) as seconds since 1970, UTC.
public struct IRCServerTime: Hashable, Comparable, Sendable {
    /// Seconds since 1970-01-01T00:00:00Z.
    public let secondsSince1970: Double

    /// Creates a time from seconds since 1970.
    public init(secondsSince1970: Double) { self.secondsSince1970 = secondsSince1970 }

    /// Parses `YYYY-MM-DDThh:mm:ss[.fff]Z` (or a `±hh:mm` offset); nil for anything else.
    public init?(parsing text: String) {
        guard let seconds = ISO8601Timestamp.secondsSince1970(parsing: text) else { return nil }
        secondsSince1970 = seconds
    }

    /// Orders by time.
    public static func < (lhs: IRCServerTime, rhs: IRCServerTime) -> Bool { lhs.secondsSince1970 < rhs.secondsSince1970 }
}

/// Tells live messages from replayed history (a `chathistory` / `znc.in/playback` batch, or a `server-time` far
/// behind the newest time the server has sent), so replays never trigger replies.
public struct IRCReplayFilter: Sendable {
    /// How far behind the newest seen `server-time` a message may be and still count as live.
    public var maximumLag: Double
    /// Newest `server-time` seen on any line of this connection.
    public private(set) var newestServerTime: IRCServerTime?
    private var replayBatches: Set<String> = []

    /// Batch types whose contents are history, not new messages.
    static let replayBatchTypes: Set<String> = ["chathistory", "draft/chathistory", "znc.in/playback"]

    /// Creates a filter that treats messages over `maximumLag` seconds old as replays.
    public init(maximumLag: Double = 30) { self.maximumLag = maximumLag }

    /// Observes one server line; returns its server time and whether it is replayed history.
    public mutating func observe(_ message: IRCMessage) -> (time: IRCServerTime?, isReplay: Bool) {
        if message.command == "BATCH", let reference = message.params.first, let sign = reference.first {
            let id = String(reference.dropFirst())
            if sign == "+", message.params.count >= 2, Self.replayBatchTypes.contains(message.params[1]) {
                replayBatches.insert(id)
            } else if sign == "-" {
                replayBatches.remove(id)
            }
        }
        let time = message.tag("time").flatMap(IRCServerTime.init(parsing:))
        var isReplay = message.tag("batch").map(replayBatches.contains) ?? false
        if let time {
            if let newest = newestServerTime, newest.secondsSince1970 - time.secondsSince1970 > maximumLag { isReplay = true }
            if !isReplay, newestServerTime.map({ time > $0 }) ?? true { newestServerTime = time }
        }
        return (time, isReplay)
    }
}

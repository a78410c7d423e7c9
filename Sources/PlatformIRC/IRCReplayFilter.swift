/// An IRCv3 `server-time` tag value (`2026-11-24T13:52:25.000Z`) as seconds since 1970, UTC.
public struct IRCServerTime: Hashable, Comparable, Sendable {
    /// Seconds since 1970-01-01T00:00:00Z.
    public let secondsSince1970: Double

    /// Creates a time from seconds since 1970.
    public init(secondsSince1970: Double) { self.secondsSince1970 = secondsSince1970 }

    /// Parses `YYYY-MM-DDThh:mm:ss[.fff]Z`; nil for anything else.
    public init?(parsing text: String) {
        let b = Array(text.utf8)
        guard b.count >= 20, b.last == UInt8(ascii: "Z"), b[4] == UInt8(ascii: "-"), b[7] == UInt8(ascii: "-"),
              b[10] == UInt8(ascii: "T"), b[13] == UInt8(ascii: ":"), b[16] == UInt8(ascii: ":") else { return nil }
        func number(_ range: Range<Int>) -> Int? {
            var n = 0
            for i in range {
                guard b[i] >= 48, b[i] <= 57 else { return nil }
                n = n * 10 + Int(b[i] - 48)
            }
            return n
        }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10), let hour = number(11..<13),
              let minute = number(14..<16), let second = number(17..<19),
              (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second <= 60 else { return nil }
        var fraction = 0.0
        if b.count > 20 {
            guard b[19] == UInt8(ascii: "."), b.count - 21 <= 9, let digits = number(20..<(b.count - 1)) else { return nil }
            var scale = 1.0
            for _ in 20..<(b.count - 1) { scale *= 10 }
            fraction = Double(digits) / scale
        } else if b[19] != UInt8(ascii: "Z") {
            return nil
        }
        // Days from the civil date (proleptic Gregorian), Howard Hinnant's algorithm.
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        let days = era * 146_097 + doe - 719_468
        secondsSince1970 = Double(days * 86_400 + hour * 3_600 + minute * 60 + second) + fraction
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

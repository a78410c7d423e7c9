import Foundation

/// A prefix for message ids an adapter makes up itself (console, JSON lines), unique across sessions.
///
/// The store remembers which message ids were answered, so an adapter whose ids restart at 1 in every
/// session makes a second session's messages look answered already, and they are silently skipped.
public enum SessionIDPrefix {
    /// Time-ordered (milliseconds since 1970, base 36) with a random tail for two sessions in one millisecond.
    public static func make(now: Date = Date()) -> String {
        let millis = UInt64(max(0, now.timeIntervalSince1970 * 1000))
        return String(millis, radix: 36) + "-" + String(UInt32.random(in: 0...UInt32.max), radix: 36)
    }
}

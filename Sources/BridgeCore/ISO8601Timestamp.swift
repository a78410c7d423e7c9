#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// UTC timestamps in ISO 8601 (`2026-12-04T20:12:57Z`, or `…57.609Z`), written without Foundation's date
/// formatters: on Linux those load ICU's calendar and time-zone data on first use, about 6 MB resident for the
/// life of the process.
public enum ISO8601Timestamp {
    /// `date` in UTC, to the second as `ISO8601DateFormatter` writes it, or to the millisecond.
    public static func string(from date: Date, milliseconds: Bool = false) -> String {
        let interval = date.timeIntervalSince1970
        let whole = interval.rounded(.down)
        let millis = min(999, Int(((interval - whole) * 1_000).rounded(.down)))
        return string(epochSeconds: Int(whole), milliseconds: milliseconds ? millis : nil)
    }

    /// Seconds since 1970 in UTC, with `milliseconds` (0–999) when given.
    public static func string(epochSeconds: Int, milliseconds: Int?) -> String {
        var seconds = time_t(epochSeconds)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        var text = ""
        text.reserveCapacity(24)
        append(Int(parts.tm_year) + 1900, width: 4, to: &text)
        text += "-"
        append(Int(parts.tm_mon) + 1, width: 2, to: &text)
        text += "-"
        append(Int(parts.tm_mday), width: 2, to: &text)
        text += "T"
        append(Int(parts.tm_hour), width: 2, to: &text)
        text += ":"
        append(Int(parts.tm_min), width: 2, to: &text)
        text += ":"
        append(Int(parts.tm_sec), width: 2, to: &text)
        if let milliseconds {
            text += "."
            append(milliseconds, width: 3, to: &text)
        }
        text += "Z"
        return text
    }

    private static func append(_ value: Int, width: Int, to text: inout String) {
        let digits = String(value)
        if digits.count < width { text += String(repeating: "0", count: width - digits.count) }
        text += digits
    }
}

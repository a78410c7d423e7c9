#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// UTC timestamps in ISO 8601 (`2026-12-04T20:12:57Z`, or `…57.609Z`), written and read without Foundation's date
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

    /// Seconds since 1970 of `YYYY-MM-DDThh:mm:ss[.fraction]` followed by `Z` or a `±hh:mm` offset (IRCv3
    /// `server-time` writes `Z`, Discord `+00:00`), up to nanoseconds; nil for anything else.
    public static func secondsSince1970(parsing text: String) -> Double? {
        var text = text
        return text.withUTF8 { secondsSince1970(parsing: $0) }
    }

    /// The same, read straight from UTF-8 bytes (a payload still in its buffer).
    public static func secondsSince1970(parsing b: UnsafeBufferPointer<UInt8>) -> Double? {
        guard b.count >= 20, b[4] == UInt8(ascii: "-"), b[7] == UInt8(ascii: "-"), b[10] == UInt8(ascii: "T"),
              b[13] == UInt8(ascii: ":"), b[16] == UInt8(ascii: ":") else { return nil }
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
        var index = 19
        var fraction = 0.0
        if b[index] == UInt8(ascii: ".") {
            index += 1
            let start = index
            while index < b.count, b[index] >= 48, b[index] <= 57 { index += 1 }
            guard index > start, index - start <= 9, let digits = number(start..<index) else { return nil }
            var scale = 1.0
            for _ in start..<index { scale *= 10 }
            fraction = Double(digits) / scale
        }
        guard index < b.count else { return nil }
        var offset = 0
        switch b[index] {
        case UInt8(ascii: "Z"):
            guard index + 1 == b.count else { return nil }
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            guard index + 6 == b.count, b[index + 3] == UInt8(ascii: ":"), let hours = number((index + 1)..<(index + 3)),
                  let minutes = number((index + 4)..<(index + 6)), hours < 24, minutes < 60 else { return nil }
            offset = (hours * 3_600 + minutes * 60) * (b[index] == UInt8(ascii: "-") ? -1 : 1)
        default:
            return nil
        }
        // Days from the civil date (proleptic Gregorian), Howard Hinnant's algorithm.
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        let days = era * 146_097 + doe - 719_468
        return Double(days * 86_400 + hour * 3_600 + minute * 60 + second - offset) + fraction
    }

    private static func append(_ value: Int, width: Int, to text: inout String) {
        let digits = String(value)
        if digits.count < width { text += String(repeating: "0", count: width - digits.count) }
        text += digits
    }
}

import Foundation
import Testing
@testable import BridgeCore

@Suite struct ISO8601TimestampTests {
    @Test(arguments: [0, 1, 59, 951_782_400, 1_733_344_377, 1_796_415_176, 4_102_444_799, 253_402_300_799] as [Int])
    func toTheSecondItMatchesFoundationsFormatter(seconds: Int) {
        let date = Date(timeIntervalSince1970: TimeInterval(seconds) + 0.987)
        #expect(ISO8601Timestamp.string(from: date) == ISO8601DateFormatter().string(from: date))
    }

    @Test func millisecondsArePaddedAndNeverRoundedUpIntoTheNextSecond() {
        #expect(ISO8601Timestamp.string(epochSeconds: 1_796_415_176, milliseconds: 7) == "2026-12-04T20:12:56.007Z")
        #expect(ISO8601Timestamp.string(from: Date(timeIntervalSince1970: 1_796_415_176.9999), milliseconds: true)
            == "2026-12-04T20:12:56.999Z")
        #expect(ISO8601Timestamp.string(from: Date(timeIntervalSince1970: 0.25), milliseconds: true) == "1970-01-01T00:00:00.250Z")
    }

    @Test func readsWhatIRCAndDiscordWrite() {
        #expect(ISO8601Timestamp.secondsSince1970(parsing: "1970-01-01T00:00:00.000Z") == 0)
        #expect(ISO8601Timestamp.secondsSince1970(parsing: "2026-11-24T13:52:25.500Z") == 1_795_528_345.5)
        #expect(ISO8601Timestamp.secondsSince1970(parsing: "2000-02-29T12:00:00Z") == 951_825_600)
        // Discord: microseconds and an offset.
        #expect(ISO8601Timestamp.secondsSince1970(parsing: "2026-12-04T20:12:56.250000+00:00") == 1_796_415_176.25)
        #expect(ISO8601Timestamp.secondsSince1970(parsing: "2026-12-04T22:12:56+02:00") == 1_796_415_176)
        #expect(ISO8601Timestamp.secondsSince1970(parsing: "2026-12-04T15:42:56-04:30") == 1_796_415_176)
        // What it writes, it reads.
        let written = ISO8601Timestamp.string(epochSeconds: 1_796_415_176, milliseconds: 7)
        #expect(ISO8601Timestamp.secondsSince1970(parsing: written) == 1_796_415_176.007)
    }

    @Test(arguments: ["", "2026-11-24", "2026-13-01T00:00:00Z", "2026-11-24T13:52:25.5", "2026-11-24 13:52:25Z",
                      "x026-11-24T13:52:25Z", "2026-11-24T13:52:25.1234567890Z", "2026-11-24T13:52:25.Z",
                      "2026-11-24T13:52:25+0000", "2026-11-24T13:52:25+00:00 ", "2026-11-24T13:52:25Zx",
                      "2026-11-24T24:00:00Z", "2026-11-24T13:52:25+24:00", #"2026-11-24T13:52:25\u002B00:00"#])
    func rejectsAnythingElse(_ text: String) {
        #expect(ISO8601Timestamp.secondsSince1970(parsing: text) == nil)
    }
}

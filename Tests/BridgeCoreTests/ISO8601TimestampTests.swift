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
}

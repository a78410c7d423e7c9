@testable import PlatformDiscord
import Testing

@Suite struct CatchUpMarkTests {
    @Test func theMarkMovesOnlyWhenAMessageIsHandled() {
        var mark = CatchUpMark()
        mark.delivered(100)
        #expect(mark.persisted == nil, "delivering is not handling")
        #expect(mark.handled(100) == 100)
        #expect(mark.persisted == 100)
    }

    @Test func theMarkNeverPassesAMessageStillInFlight() {
        var mark = CatchUpMark(persisted: 99)
        for id: UInt64 in [100, 101, 102] { mark.delivered(id) }
        #expect(mark.handled(101) == nil, "100 is still in flight")
        #expect(mark.handled(102) == nil)
        #expect(mark.handled(100) == 102, "once 100 is done, everything up to 102 is")
        #expect(mark.persisted == 102)
    }

    @Test func snowflakesCompareNumericallyAndOldMessagesDoNotMoveTheMarkBack() {
        var mark = CatchUpMark(persisted: 999)
        mark.delivered(1000)
        #expect(mark.handled(1000) == 1000, "1000 is newer than 999")
        mark.delivered(998)
        #expect(mark.handled(998) == nil)
        #expect(mark.persisted == 1000)
    }

    @Test func severalHandledAtOnceGiveTheNewestMarkOfHandlingThemInTurn() {
        var one = CatchUpMark(persisted: 99)
        var batch = one
        for id: UInt64 in [100, 101, 102, 103] {
            one.delivered(id)
            batch.delivered(id)
        }
        var newest: UInt64?
        for id: UInt64 in [101, 100, 102] { newest = one.handled(id) ?? newest }
        #expect(batch.handled([101, 100, 102]) == newest)
        #expect(batch.persisted == 102 && batch == one)
        #expect(batch.handled([103]) == 103)
        #expect(batch.handled([]) == nil)
    }

    @Test func newestDeliveredIsWhereACatchUpStartsWhateverTheOrderOrHandling() {
        var mark = CatchUpMark(persisted: 99)
        #expect(mark.newestDelivered == nil)
        mark.delivered(100)
        mark.delivered(1000)
        mark.delivered(999)
        #expect(mark.newestDelivered == 1000, "a late older message does not move it back")
        #expect(mark.handled([100, 999, 1000]) == 1000)
        #expect(mark.newestDelivered == 1000)
        mark.delivered(98)
        #expect(mark.newestDelivered == 1000 && mark.persisted == 1000)
    }

    @Test func snowflakesParseAsNumbersAndAnythingElseIsNotTracked() {
        #expect(CatchUpMark.snowflake("1311768467463790320") == 1_311_768_467_463_790_320)
        #expect(CatchUpMark.snowflake("18446744073709551615") == UInt64.max)
        #expect(CatchUpMark.snowflake("0") == 0)
        for bad in ["", "18446744073709551616", "99999999999999999999", "/", ":", "+5", "-5", " 5", "12a", "1e5", "１２", "000000000000000000001"] {
            #expect(CatchUpMark.snowflake(bad) == nil, "\(bad) is not a snowflake")
        }
    }
}

import Foundation
import Testing
@testable import ModelClient

/// Numbers and streams from a hostile or broken model endpoint: nothing traps, nothing grows without bound.
@Suite struct HostileInputTests {
    /// Point 4: `Retry-After: 1e20`, `inf`, `nan` and far-future dates used to trap `Int64(seconds * 1000)`.
    @Test func hostileRetryAfterHeadersNeitherTrapNorWaitPastAnHour() {
        let hour: Duration = .seconds(3_600)
        for value in ["1e20", "1e300", "9223372036854775807", "99999999999"] {
            #expect(RetryPolicy.parseRetryAfter(value) == hour, "\(value)")
        }
        for value in ["inf", "-inf", "nan", "infinity", "-5", "NaN"] {
            #expect(RetryPolicy.parseRetryAfter(value) == nil, "\(value) must fall back to the default backoff")
        }
        let farFuture = "Fri, 31 Dec 9999 23:59:59 GMT"
        #expect(RetryPolicy.parseRetryAfter(farFuture, now: Date(timeIntervalSince1970: 0)) == hour)
        #expect(RetryPolicy.parseRetryAfter("2.5") == .milliseconds(2_500))
    }

    /// Point 5: a chunk nested thousands deep fails with a typed error instead of overflowing the stack.
    @Test func deeplyNestedChunkFailsWithATypedErrorNotACrash() throws {
        let depth = 100_000
        let hostile = "{\"x\":" + String(repeating: "[", count: depth) + String(repeating: "]", count: depth) + "}"
        #expect(throws: ChunkJSONReader.Failure.self) { _ = try ChunkJSONReader.read(Array(hostile.utf8)) }
        let deepObjects = String(repeating: "{\"a\":", count: depth) + "1" + String(repeating: "}", count: depth)
        #expect(throws: ChunkJSONReader.Failure.self) { _ = try ChunkJSONReader.read(Array(deepObjects.utf8)) }
        // 64 levels are still fine.
        let fine = "{\"x\":" + String(repeating: "[", count: 63) + String(repeating: "]", count: 63) + "}"
        _ = try ChunkJSONReader.read(Array(fine.utf8))
        var decoder = ModelStreamDecoder()
        let actions = decoder.feed(Array(("data: " + hostile + "\n\n").utf8))
        guard case .fail(let error) = actions.last else { Issue.record("\(actions)"); return }
        #expect(error.code == .invalidResponse)
    }

    /// Point 5: a line that never ends is cut off at 1 MiB; the stream fails, memory stays bounded.
    @Test func endlessSSELineIsCutOffAtOneMebibyte() {
        var parser = SSEParser()
        let block = [UInt8](repeating: UInt8(ascii: "a"), count: 64 * 1024)
        _ = parser.feed(Array("data: ".utf8))
        for _ in 0..<40 { _ = parser.feed(block) }
        #expect(parser.overflow?.code == .lineTooLong)
        // Once cut off, nothing more is parsed.
        #expect(parser.feed(Array("\n\ndata: x\n\n".utf8)).isEmpty)

        var decoder = ModelStreamDecoder()
        var failed: ModelError?
        for _ in 0..<40 {
            for case .fail(let error) in decoder.feed(block) { failed = error }
        }
        #expect(failed?.code == .invalidResponse)
        #expect(decoder.isTerminal)
    }

    /// Point 5: an event of many short `data:` lines is cut off at 4 MiB.
    @Test func hugeSSEEventIsCutOffAtFourMebibytes() {
        var parser = SSEParser()
        let line = Array(("data: " + String(repeating: "b", count: 1_000) + "\n").utf8)
        var chunk: [UInt8] = []
        for _ in 0..<100 { chunk += line }
        for _ in 0..<50 { _ = parser.feed(chunk) }
        #expect(parser.overflow?.code == .eventTooLarge)
        var small = SSEParser()
        #expect(small.feed(Array("data: ok\n\n".utf8)).map(\.data) == ["ok"])
        #expect(small.overflow == nil)
    }
}

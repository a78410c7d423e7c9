import Testing
@testable import PlatformDiscord

@Suite struct ZlibStreamInflaterTests {
    struct SeededRNG: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    @Test func roundTripsPayloadsSplitAcrossFramesArbitrarily() throws {
        var rng = SeededRNG(state: 42)
        let deflater = try ZlibStreamDeflater()
        let inflater = try ZlibStreamInflater()
        for index in 0..<300 {
            let text = #"{"op":0,"s":\#(index),"t":"MESSAGE_CREATE","d":{"content":"\#(String(repeating: "hello ", count: Int.random(in: 0...500, using: &rng)))"}}"#
            let compressed = deflater.compress(Array(text.utf8))
            #expect(compressed.suffix(4) == [0, 0, 0xFF, 0xFF])
            var offset = 0
            var result: [UInt8]?
            while offset < compressed.count {
                let size = Int.random(in: 1...max(1, compressed.count - offset), using: &rng)
                let piece = Array(compressed[offset..<min(compressed.count, offset + size)])
                offset += piece.count
                let out = try inflater.feed(piece)
                if offset < compressed.count, piece.suffix(4) != [0, 0, 0xFF, 0xFF] {
                    #expect(out == nil)
                }
                if let out { result = (result ?? []) + out }
            }
            #expect(result.map { String(decoding: $0, as: UTF8.self) } == text)
        }
    }

    @Test func reusesItsOutputRoomAndGivesBackALargePayloadsRoom() throws {
        let deflater = try ZlibStreamDeflater()
        let inflater = try ZlibStreamInflater()
        let small = Array(#"{"op":0,"s":1,"t":"MESSAGE_CREATE","d":{"content":"hi"}}"#.utf8)
        #expect(try inflater.feed(deflater.compress(small)) == small)
        let room = inflater.outputCapacity
        #expect(room > 0 && room <= ZlibStreamInflater.keptOutputBytes)
        // A payload far larger than its compressed size (the room doubles while inflating it) is whole, and its
        // room is not kept afterwards.
        let large = Array(#"{"op":0,"d":{"content":"\#(String(repeating: "a", count: 300_000))"}}"#.utf8)
        #expect(try inflater.withPayload(deflater.compress(large)) { Array($0) } == large)
        #expect(inflater.outputCapacity == 0)
        for index in 0..<50 {
            let payload = Array(#"{"op":0,"s":\#(index),"d":{"content":"\#(String(repeating: "x", count: index * 10))"}}"#.utf8)
            #expect(try inflater.feed(deflater.compress(payload)) == payload)
        }
        #expect(inflater.outputCapacity <= ZlibStreamInflater.keptOutputBytes)
    }

    /// The zlib header is checked by hand (the rest is inflated as raw deflate data), even when it arrives a byte
    /// at a time; a stream with another header is refused.
    @Test func theHeaderIsCheckedWhereverItIsSplit() throws {
        let deflater = try ZlibStreamDeflater()
        let first = deflater.compress(Array(#"{"op":10}"#.utf8))
        #expect(ZlibStreamInflater.isZlibHeader(first[0], first[1]))
        let inflater = try ZlibStreamInflater()
        #expect(try inflater.feed([first[0]]) == nil)
        #expect(try inflater.feed(Array(first.dropFirst())) == Array(#"{"op":10}"#.utf8))
        #expect(try inflater.feed(deflater.compress(Array(#"{"op":11}"#.utf8))) == Array(#"{"op":11}"#.utf8))

        // The same deflate data behind a header asking for a preset dictionary, or with a wrong check.
        for header: [UInt8] in [[0x78, 0xBB], [0x78, 0x9D]] {
            #expect(!ZlibStreamInflater.isZlibHeader(header[0], header[1]))
            let refused = try ZlibStreamInflater()
            let error = #expect(throws: ZlibStreamError.self) { _ = try refused.feed(header + first.dropFirst(2)) }
            #expect(error?.code == .corruptStream)
        }
    }

    @Test func partialFrameReturnsNil() throws {
        let deflater = try ZlibStreamDeflater()
        let inflater = try ZlibStreamInflater()
        let compressed = deflater.compress(Array(#"{"op":11}"#.utf8))
        #expect(try inflater.feed(Array(compressed.dropLast(2))) == nil)
        #expect(try inflater.feed(Array(compressed.suffix(2))) == Array(#"{"op":11}"#.utf8))
    }

    @Test func corruptStreamGivesTypedError() throws {
        let inflater = try ZlibStreamInflater()
        #expect(throws: ZlibStreamError.self) {
            _ = try inflater.feed([0xDE, 0xAD, 0xBE, 0xEF, 1, 2, 3, 0, 0, 0xFF, 0xFF])
        }
        do {
            _ = try inflater.feed([0, 0, 0xFF, 0xFF])
            Issue.record("a failed stream must stay failed")
        } catch {
            #expect(error.code == .corruptStream)
        }
    }

    @Test func oversizedPayloadIsRejected() throws {
        let deflater = try ZlibStreamDeflater()
        let inflater = try ZlibStreamInflater(maxPayloadBytes: 1000)
        let compressed = deflater.compress([UInt8](repeating: 65, count: 50_000))
        do {
            _ = try inflater.feed(compressed)
            Issue.record("expected tooLarge")
        } catch {
            #expect(error.code == .tooLarge)
        }
    }
}

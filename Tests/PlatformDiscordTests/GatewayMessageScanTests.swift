import Foundation
import Testing
@testable import PlatformDiscord

/// The MESSAGE_CREATE byte scan must read exactly what `JSONDecoder` reads, and leave anything unusual to it.
@Suite struct GatewayMessageScanTests {
    static let envelope = #"{"op":0,"s":42,"t":"MESSAGE_CREATE","d":%@}"#

    func payload(_ d: String) -> [UInt8] { Array(Self.envelope.replacingOccurrences(of: "%@", with: d).utf8) }

    @Test(arguments: [
        // A full gateway message with the fields the bridge does not read.
        #"{"id":"1100","channel_id":"7","guild_id":"1","author":{"id":"3","username":"alice","global_name":"Alice","avatar":null,"bot":false},"content":"blast message","timestamp":"2026-12-04T00:00:00+00:00","edited_timestamp":null,"tts":false,"mention_everyone":false,"mentions":[{"id":"9","username":"bot","bot":true}],"mention_roles":["5","6"],"attachments":[],"embeds":[{"title":"x","fields":[{"name":"a","value":"}]{["}]}],"pinned":false,"type":0,"flags":0,"components":[],"member":{"roles":["5"],"nick":"Ally","joined_at":"2026","deaf":false},"message_reference":{"message_id":"1099","channel_id":"7"}}"#,
        // Escapes and non-ASCII text, surrogate pairs, whitespace between tokens.
        #"{ "id" : "1101" , "channel_id":"7", "author":{"id":"3"}, "content":"a \"quote\" \\ back\/slash\n\t\u00e9\u4e2d\ud83d\ude00 <@9>", "webhook_id": null, "member": null }"#,
        // Direct message: no guild, no member; numbers with fractions in fields nobody reads.
        #"{"id":"1102","channel_id":"8","author":{"id":"4","username":null},"content":"","nonce":12.5e3,"mentions":null,"mention_roles":[]}"#,
        // Absent content.
        #"{"id":"1103","channel_id":"8","author":{"id":"4"}}"#,
    ])
    func scanMatchesJSONDecoder(_ d: String) throws {
        let bytes = payload(d)
        let scanned = try #require(GatewayPayload.scanMessageCreate(bytes))
        let decoded = try GatewayPayload.decodeWithJSONDecoder(bytes)
        #expect(scanned == decoded)
        #expect(scanned.s == 42)
    }

    /// The message's time is read in place; one that is null, absent or not ISO 8601 is left to the router ("now"),
    /// as the decoder leaves it.
    @Test(arguments: [
        (#""timestamp":"2026-12-04T20:12:56.250000+00:00","#, 1_796_415_176.25 as Double?),
        (#""timestamp":null,"#, nil), ("", nil), (#""timestamp":"yesterday","#, nil),
    ])
    func theTimestampIsDiscords(_ field: String, _ seconds: Double?) throws {
        let bytes = payload(#"{"id":"1100","channel_id":"7",\#(field)"author":{"id":"3"},"content":"hi"}"#)
        let scanned = try #require(GatewayPayload.scanMessageCreate(bytes))
        guard case .messageCreate(let message) = scanned.event else { Issue.record("not a message"); return }
        #expect(message.timestamp?.timeIntervalSince1970 == seconds)
        #expect(scanned == (try GatewayPayload.decodeWithJSONDecoder(bytes)))
    }

    /// Discord sends `t` before `d`, and the scan then reads the message in the same pass; with `d` first it is
    /// skipped and read afterwards. Either way the answer is the decoder's.
    @Test func theEnvelopeKeysMayComeInAnyOrder() throws {
        let d = #"{"id":"1100","channel_id":"7","guild_id":"1","author":{"id":"3","username":"alice"},"content":"hi","member":{"roles":["5"]}}"#
        let orders = [
            #"{"t":"MESSAGE_CREATE","s":42,"op":0,"d":\#(d)}"#,
            #"{"d":\#(d),"op":0,"s":42,"t":"MESSAGE_CREATE"}"#,
            #"{"op":0,"d":\#(d),"t":"MESSAGE_CREATE","s":42}"#,
        ]
        for text in orders {
            let bytes = Array(text.utf8)
            let scanned = try #require(GatewayPayload.scanMessageCreate(bytes), "\(text)")
            #expect(scanned == (try GatewayPayload.decodeWithJSONDecoder(bytes)))
            #expect(scanned.s == 42)
        }
        // A message the scan cannot read is left to the decoder whichever way round the keys come.
        let odd = #"{"id":"1","channel_id":"7","author":{"id":"3"},"content":7}"#
        #expect(GatewayPayload.scanMessageCreate(Array(#"{"t":"MESSAGE_CREATE","op":0,"d":\#(odd),"s":1}"#.utf8)) == nil)
        #expect(GatewayPayload.scanMessageCreate(Array(#"{"d":\#(odd),"op":0,"t":"MESSAGE_CREATE","s":1}"#.utf8)) == nil)
    }

    /// With the connection's cache of repeated strings the scan reads the same messages, and a repeated id or
    /// name is the cached string; escaped, long or non-UTF-8 strings are read as they are.
    @Test func theStringCacheChangesNothingButRepeats() throws {
        let strings = GatewayStringCache()
        let long = String(repeating: "x", count: GatewayStringCache.maxLength + 1)
        let bodies = [
            #"{"id":"1100","channel_id":"900000000000000301","guild_id":"900000000000000100","author":{"id":"900000000000000403","username":"alice","global_name":"Alice Liddell the Second"},"content":"hi"}"#,
            #"{"id":"1101","channel_id":"900000000000000301","guild_id":"900000000000000100","author":{"id":"900000000000000403","username":"alice","global_name":"Alice Liddell the Second"},"content":"again"}"#,
            #"{"id":"1102","channel_id":"900000000000000302","guild_id":"900000000000000100","author":{"id":"900000000000000404","username":"b\u00f6b","global_name":"\#(long)"},"content":"x"}"#,
            #"{"id":"1103","channel_id":"900000000000000302","guild_id":"900000000000000100","author":{"id":"900000000000000404","username":"b\u00f6b","global_name":"\#(long)"},"content":"y"}"#,
        ]
        for d in bodies {
            let bytes = payload(d)
            let cached = try #require(bytes.withUnsafeBufferPointer { GatewayPayload.scanMessageCreate($0, strings: strings) })
            #expect(cached == (try GatewayPayload.decodeWithJSONDecoder(bytes)))
        }
        // The second message repeats channel, guild, author id and both names; the third the guild; the fourth
        // channel, guild and author id (not the escaped name, nor the one longer than the cache keeps).
        #expect(strings.hits == 5 + 1 + 3)
        // Bytes that are not UTF-8 are repaired as without the cache, and never match a cached string.
        var invalid = Array(#"{"op":0,"s":1,"t":"MESSAGE_CREATE","d":{"id":"1","channel_id":"7","author":{"id":"3","username":"a"#.utf8)
        invalid += [0xFF, 0xFE]
        invalid += Array(#""},"content":"x"}}"#.utf8)
        let hitsBefore = strings.hits
        for _ in 0..<2 {
            let scanned = invalid.withUnsafeBufferPointer { GatewayPayload.scanMessageCreate($0, strings: strings) }
            guard case .messageCreate(let message)? = scanned?.event else {
                Issue.record("not a message")
                return
            }
            #expect(message.author.username == "a\u{FFFD}\u{FFFD}")
        }
        // The second time round only the channel id "7" and the author id "3" repeat.
        #expect(strings.hits == hitsBefore + 2)
    }

    @Test func decodedTextKeepsEscapesAndUnicode() throws {
        let bytes = payload(#"{"id":"1","channel_id":"7","author":{"id":"3"},"content":"\"hi\"\n\u00e9\ud83d\ude00"}"#)
        guard case .messageCreate(let message) = try #require(GatewayPayload.scanMessageCreate(bytes)).event else {
            Issue.record("not a message")
            return
        }
        #expect(message.content == "\"hi\"\né😀")
    }

    @Test(arguments: [
        // Wrong types the tolerant decoder turns into nil: left to it.
        #"{"id":"1","channel_id":"7","guild_id":5,"author":{"id":"3"},"content":"x"}"#,
        #"{"id":"1","channel_id":"7","author":{"id":"3"},"content":7}"#,
        #"{"id":"1","channel_id":"7","author":{"id":"3"},"mentions":[{"id":"9"},{"x":1}]}"#,
        // An escaped key.
        #"{"\u0069d":"1","channel_id":"7","author":{"id":"3"}}"#,
        // A lone surrogate.
        #"{"id":"1","channel_id":"7","author":{"id":"3"},"content":"\ud83d"}"#,
    ])
    func unusualPayloadsAreLeftToJSONDecoder(_ d: String) throws {
        let bytes = payload(d)
        #expect(GatewayPayload.scanMessageCreate(bytes) == nil)
        // Whatever the general decoder makes of it is what `decode` answers.
        let general = Result { () throws(GatewayDecodeError) in try GatewayPayload.decodeWithJSONDecoder(bytes) }
        let answer = Result { () throws(GatewayDecodeError) in try GatewayPayload.decode(bytes) }
        #expect(general == answer)
    }

    @Test func otherDispatchesAndBrokenEnvelopesAreNotScanned() {
        #expect(GatewayPayload.scanMessageCreate(Array(#"{"op":0,"s":1,"t":"MESSAGE_UPDATE","d":{"id":"1","channel_id":"2"}}"#.utf8)) == nil)
        #expect(GatewayPayload.scanMessageCreate(Array(#"{"op":11}"#.utf8)) == nil)
        #expect(GatewayPayload.scanMessageCreate(Array(#"{"op":0,"t":"MESSAGE_CREATE","d":{"id":"1""#.utf8)) == nil)
        #expect(GatewayPayload.scanMessageCreate(Array(#"{"op":0,"t":"MESSAGE_CREATE","d":{"id":"1","channel_id":"2","author":{"id":"3"}}} trailing"#.utf8)) == nil)
        #expect(throws: GatewayDecodeError.self) { try GatewayPayload.decode(Array(#"{"op":0,"t":"MESSAGE_CREATE","d":{"channel_id":"2"}}"#.utf8)) }
    }

    /// The word-at-a-time search finds what a byte-at-a-time one finds, at every alignment and length, whatever
    /// surrounds the first match (UTF-8 continuation bytes, 0x7F, 0x80, 0xFF, a second match right after it).
    @Test func theWordAtATimeSearchFindsTheFirstQuoteBackslashOrControlByte() {
        var generator = SystemRandomNumberGenerator()
        let alphabet: [UInt8] = [0x00, 0x01, 0x1F, 0x20, 0x21, 0x22, 0x23, 0x5B, 0x5C, 0x5D, 0x61, 0x7F, 0x80, 0xA2, 0xDC, 0xE2, 0xFF]
        func naive(_ bytes: [UInt8], _ from: Int, _ to: Int) -> Int {
            var index = from
            while index < to, bytes[index] != 0x22, bytes[index] != 0x5C, bytes[index] >= 0x20 { index += 1 }
            return index
        }
        for _ in 0..<20_000 {
            let count = Int.random(in: 0...40, using: &generator)
            // Mostly plain text, with a special byte now and then, as in a payload's strings.
            let bytes = (0..<count).map { _ in
                Int.random(in: 0..<8, using: &generator) == 0 ? alphabet.randomElement(using: &generator)!
                    : UInt8.random(in: 0x23...0x7E, using: &generator)
            }
            let from = Int.random(in: 0...count, using: &generator)
            let to = Int.random(in: from...count, using: &generator)
            bytes.withUnsafeBufferPointer { buffer in
                #expect(GatewayScanner.firstSpecial(in: buffer, from: from, to: to) == naive(bytes, from, to),
                        "bytes \(bytes) from \(from) to \(to)")
            }
        }
        // Every byte value on its own, at each place in a word and past it.
        for value in UInt8.min...UInt8.max {
            for place in 0..<17 {
                var bytes = [UInt8](repeating: UInt8(ascii: "a"), count: 17)
                bytes[place] = value
                bytes.withUnsafeBufferPointer { buffer in
                    #expect(GatewayScanner.firstSpecial(in: buffer, from: 0, to: 17) == naive(bytes, 0, 17))
                }
            }
        }
    }
}

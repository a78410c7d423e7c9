import BridgeCore
@testable import PlatformMatrix
import Testing

@Suite struct MatrixSyncDecoderTests {
    static let sample = """
        {"next_batch":"s2","rooms":{"join":{"!r:localhost":{
          "state":{"events":[
            {"type":"m.room.member","state_key":"@alice:localhost","sender":"@alice:localhost","content":{"membership":"join","displayname":"Alice"}},
            {"type":"m.room.name","state_key":"","sender":"@alice:localhost","content":{"name":"Tavern"}}]},
          "timeline":{"limited":false,"events":[
            {"type":"m.room.message","event_id":"$1","sender":"@alice:localhost","origin_server_ts":1000,"content":{"msgtype":"m.text","body":"hello bot"}},
            {"type":"m.room.message","event_id":"$2","sender":"@alice:localhost","origin_server_ts":1000,"content":{"msgtype":"m.notice","body":"a notice"}},
            {"type":"m.room.message","event_id":"$3","sender":"@alice:localhost","origin_server_ts":1000,"content":{"msgtype":"m.emote","body":"waves"}},
            {"type":"org.example.unknown","event_id":"$4","sender":"@alice:localhost","content":{"x":1}},
            {"type":"m.room.message","event_id":"$5","sender":"@alice:localhost","origin_server_ts":1000,"content":{"msgtype":"m.text","body":"> <@bot:localhost> hi\\n\\nthanks","m.relates_to":{"m.in_reply_to":{"event_id":"$0"}}}},
            {"type":"m.room.message","event_id":"$6","sender":"@alice:localhost","origin_server_ts":1000,"content":{"msgtype":"m.text","body":"* fixed","m.new_content":{"msgtype":"m.text","body":"fixed"},"m.relates_to":{"rel_type":"m.replace","event_id":"$1"}}},
            {"type":"m.room.redaction","event_id":"$7","sender":"@alice:localhost","origin_server_ts":1000,"redacts":"$3","content":{}},
            {"type":"m.room.redaction","event_id":"$8","sender":"@alice:localhost","origin_server_ts":1000,"content":{"redacts":"$5"}},
            {"type":"m.room.message","event_id":"$9","sender":"@bot:localhost","origin_server_ts":1000,"content":{"msgtype":"m.text","body":"mine"}}
          ]}}},
          "invite":{"!i:localhost":{"invite_state":{"events":[
            {"type":"m.room.member","state_key":"@bot:localhost","sender":"@alice:localhost","content":{"membership":"invite"}}]}}},
          "leave":{"!gone:localhost":{}}}}
        """

    @Test func decodesRoomsInvitesAndLeaves() throws {
        let sync = try MatrixSyncResponse.decode(Array(Self.sample.utf8))
        #expect(sync.nextBatch == "s2")
        #expect(sync.joined.map(\.roomID) == ["!r:localhost"])
        #expect(sync.joined[0].timeline.count == 9)
        #expect(sync.invited.first?.inviter(of: "@bot:localhost") == "@alice:localhost")
        #expect(sync.left == ["!gone:localhost"])
    }

    @Test func mapsTimelineToCoreEvents() throws {
        let sync = try MatrixSyncResponse.decode(Array(Self.sample.utf8))
        var rooms = MatrixRooms(ownUserID: "@bot:localhost")
        let events = rooms.apply(sync, initial: false, nowMs: 2000)
        let channel = rooms.channel("!r:localhost")
        #expect(channel.channelName == "Tavern")
        #expect(channel.key == "matrix::!r:localhost")
        guard events.count == 7 else {
            Issue.record("unexpected events \(events)")
            return
        }
        guard case .messageCreated(let hello) = events[0] else { Issue.record("\(events[0])"); return }
        #expect(hello.text == "hello bot")
        #expect(hello.author.displayName == "Alice")
        #expect(hello.mentionsUs)
        guard case .messageCreated(let emote) = events[1] else { Issue.record("\(events[1])"); return }
        #expect(emote.text == "*waves*")
        guard case .messageCreated(let reply) = events[2] else { Issue.record("\(events[2])"); return }
        #expect(reply.text == "thanks")
        #expect(reply.replyTo == "$0")
        #expect(events[3] == .messageEdited(channel: channel, messageID: "$1", newText: "fixed", editorID: "@alice:localhost"))
        #expect(events[4] == .messageDeleted(channel: channel, messageID: "$3"))
        #expect(events[5] == .messageDeleted(channel: channel, messageID: "$5"))
        guard case .messageCreated(let mine) = events[6] else { Issue.record("\(events[6])"); return }
        #expect(mine.isOwnMessage)
    }

    @Test func initialSyncDeliversNothing() throws {
        let sync = try MatrixSyncResponse.decode(Array(Self.sample.utf8))
        var rooms = MatrixRooms(ownUserID: "@bot:localhost")
        #expect(rooms.apply(sync, initial: true, nowMs: 2000).isEmpty)
        #expect(rooms.displayName(of: "@alice:localhost", in: "!r:localhost") == "Alice")
    }

    @Test func historyBeforeOwnJoinAndOutsideCatchUpWindowIsSkipped() {
        let join = MatrixEvent(type: "m.room.member", eventID: "$j", sender: "@bot:localhost", stateKey: "@bot:localhost",
                               content: ["membership": "join"], originServerTS: 5000)
        func message(_ id: String, _ ts: Int) -> MatrixEvent {
            MatrixEvent(type: "m.room.message", eventID: id, sender: "@a:localhost", content: ["msgtype": "m.text", "body": .string(id)],
                        originServerTS: ts)
        }
        let sync = MatrixSyncResponse(nextBatch: "n", joined: [
            .init(roomID: "!r:x", state: [], timeline: [message("old", 4000), join, message("new", 6000)], limited: false),
            .init(roomID: "!s:x", state: [], timeline: [message("stale", 1000), message("fresh", 599_000)], limited: false),
        ])
        var rooms = MatrixRooms(ownUserID: "@bot:localhost", catchUpWindow: .seconds(10))
        let ids = rooms.apply(sync, initial: false, nowMs: 600_000).compactMap { event -> String? in
            if case .messageCreated(let m) = event { return m.messageID }
            return nil
        }
        #expect(ids == ["fresh"])
        var wide = MatrixRooms(ownUserID: "@bot:localhost", catchUpWindow: .seconds(3600))
        let all = wide.apply(sync, initial: false, nowMs: 600_000).count
        #expect(all == 3)
    }

    @Test func syncFilterLazyLoadsMembersAndKeepsWhatTheBridgeReads() throws {
        let filter = try MatrixJSON.parse(Array(MatrixPlatform.filter.utf8))
        #expect(filter["room"]?["state"]?["lazy_load_members"] == .bool(true))
        let timeline = filter["room"]?["timeline"]?["types"]?.array?.compactMap(\.string) ?? []
        #expect(Set(["m.room.message", "m.room.redaction", "m.room.member"]).isSubset(of: Set(timeline)))
        #expect(filter["presence"]?["types"] == [])
    }

    @Test func missingNextBatchIsAnErrorNotACrash() {
        #expect(throws: MatrixError.self) { try MatrixSyncResponse.decode(Array("{}".utf8)) }
        #expect(throws: MatrixError.self) { try MatrixSyncResponse.decode(Array("not json".utf8)) }
        #expect(throws: MatrixError.self) { try MatrixSyncResponse.decode(Array("".utf8)) }
    }

    @Test func deeplyNestedInputIsRejectedWithoutCrashing() {
        let deep = Array(String(repeating: "[", count: 100_000).utf8)
        #expect(throws: MatrixError.self) { try MatrixSyncResponse.decode(deep) }
        let deepInRoom = Array(("{\"next_batch\":\"x\",\"rooms\":" + String(repeating: "{\"a\":", count: 50_000)).utf8)
        #expect(throws: MatrixError.self) { try MatrixSyncResponse.decode(deepInRoom) }
    }

    @Test func fuzzedShapesNeverCrash() {
        var rng = SplitMix(seed: 0x5EED)
        let base = Self.sample
        var decoded = 0
        for round in 0..<3000 {
            let input: [UInt8]
            switch round % 3 {
            case 0:
                input = Array(Self.randomJSON(&rng, depth: 0).bytes)
            case 1:
                // Structurally valid sync with random values in every slot.
                let value = Self.randomJSON(&rng, depth: 2)
                let sync: MatrixJSON = ["next_batch": "x", "rooms": ["join": ["!r:x": ["timeline": ["events": [value, ["type": value, "content": value, "event_id": value, "sender": value, "redacts": value, "m.relates_to": value]]], "state": value]], "invite": ["!i:x": value], "leave": value]]
                input = sync.bytes
            default:
                // Byte-level mutations of a real response.
                var bytes = Array(base.utf8)
                for _ in 0..<Int(rng.next() % 8 + 1) {
                    let i = Int(rng.next() % UInt64(bytes.count))
                    switch rng.next() % 3 {
                    case 0: bytes[i] = UInt8(truncatingIfNeeded: rng.next())
                    case 1: bytes.remove(at: i)
                    default: bytes.insert(Array("{}[]\",:0nt".utf8)[Int(rng.next() % 10)], at: i)
                    }
                }
                input = bytes
            }
            if let sync = try? MatrixSyncResponse.decode(input) {
                decoded += 1
                var rooms = MatrixRooms(ownUserID: "@bot:localhost")
                _ = rooms.apply(sync, initial: false, nowMs: 0)
                for room in sync.joined { for event in room.timeline { _ = rooms.map(event, room: room.roomID) } }
                for invite in sync.invited { _ = invite.inviter(of: "@bot:localhost") }
            }
        }
        #expect(decoded > 1000)
    }

    static func randomJSON(_ rng: inout SplitMix, depth: Int) -> MatrixJSON {
        let pick = depth > 3 ? rng.next() % 4 : rng.next() % 7
        switch pick {
        case 0: return .null
        case 1: return .bool(rng.next() % 2 == 0)
        case 2: return .number(Double(Int64(bitPattern: rng.next()) % 100_000) / 7)
        case 3: return .string(["m.room.message", "m.text", "", "$x", "@bot:localhost", "m.replace", "\u{0}☃"][Int(rng.next() % 7)])
        case 4, 5:
            var o: [String: MatrixJSON] = [:]
            let keys = ["type", "content", "body", "msgtype", "event_id", "sender", "rooms", "join", "timeline", "events",
                        "next_batch", "m.relates_to", "m.new_content", "rel_type", "state_key", "membership"]
            for _ in 0..<Int(rng.next() % 5) { o[keys[Int(rng.next() % UInt64(keys.count))]] = randomJSON(&rng, depth: depth + 1) }
            return .object(o)
        default:
            return .array((0..<Int(rng.next() % 4)).map { _ in randomJSON(&rng, depth: depth + 1) })
        }
    }
}

/// A small seeded generator, so fuzz failures reproduce.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

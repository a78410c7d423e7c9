/// One Matrix event as far as the bridge reads it; every field is optional on the wire.
public struct MatrixEvent: Hashable, Sendable {
    /// Event type, e.g. `m.room.message`.
    public var type: String
    /// Event ID (absent in stripped invite state).
    public var eventID: String?
    /// Sender user ID.
    public var sender: String?
    /// State key for state events.
    public var stateKey: String?
    /// Event content (an empty object when missing or not an object).
    public var content: MatrixJSON
    /// Milliseconds since the epoch on the origin server.
    public var originServerTS: Int?
    /// The redacted event, for `m.room.redaction` (top level before room v11, in content after).
    public var redacts: String?

    /// Creates an event.
    public init(type: String, eventID: String? = nil, sender: String? = nil, stateKey: String? = nil,
                content: MatrixJSON = [:], originServerTS: Int? = nil, redacts: String? = nil) {
        self.type = type
        self.eventID = eventID
        self.sender = sender
        self.stateKey = stateKey
        self.content = content
        self.originServerTS = originServerTS
        self.redacts = redacts
    }

    /// Reads an event; `nil` when the value is not an object with a string `type`.
    public init?(json: MatrixJSON) {
        guard json.object != nil, let type = json["type"]?.string else { return nil }
        self.type = type
        eventID = json["event_id"]?.string
        sender = json["sender"]?.string
        stateKey = json["state_key"]?.string
        content = json["content"].flatMap { $0.object != nil ? $0 : nil } ?? [:]
        originServerTS = json["origin_server_ts"]?.int
        redacts = json["redacts"]?.string ?? content["redacts"]?.string
    }
}

/// The parts of a `/sync` response the bridge uses.
public struct MatrixSyncResponse: Hashable, Sendable {
    /// A joined room's new events.
    public struct JoinedRoom: Hashable, Sendable {
        /// Room ID.
        public var roomID: String
        /// State before the timeline (full on an initial sync, lazy-loaded members).
        public var state: [MatrixEvent]
        /// New events in order.
        public var timeline: [MatrixEvent]
        /// Whether events were left out before `timeline` (a gap).
        public var limited: Bool
        /// Where `/messages` continues backwards from the start of `timeline` (to fill a gap).
        public var prevBatch: String? = nil
    }

    /// A pending invite.
    public struct InvitedRoom: Hashable, Sendable {
        /// Room ID.
        public var roomID: String
        /// Stripped state, including the invite membership event.
        public var state: [MatrixEvent]

        /// Who invited `userID`, from the invite membership event.
        public func inviter(of userID: String) -> String? {
            state.last { $0.type == "m.room.member" && $0.stateKey == userID && $0.content["membership"]?.string == "invite" }?
                .sender
        }

        /// Whether the invite of `userID` is to a direct chat (`is_direct` on the invite membership event).
        public func isDirect(for userID: String) -> Bool {
            state.last { $0.type == "m.room.member" && $0.stateKey == userID && $0.content["membership"]?.string == "invite" }?
                .content["is_direct"]?.bool ?? false
        }
    }

    /// Token for the next `/sync`.
    public var nextBatch: String
    /// Joined rooms, sorted by room ID for determinism.
    public var joined: [JoinedRoom]
    /// Invites.
    public var invited: [InvitedRoom]
    /// Rooms we left or were removed from.
    public var left: [String]
    /// Our `m.direct` account data (user → direct rooms), when this batch carries it (it holds the whole map).
    public var direct: [String: [String]]?

    /// Creates a response.
    public init(nextBatch: String, joined: [JoinedRoom] = [], invited: [InvitedRoom] = [], left: [String] = [],
                direct: [String: [String]]? = nil) {
        self.nextBatch = nextBatch
        self.joined = joined
        self.invited = invited
        self.left = left
        self.direct = direct
    }

    /// Decodes a `/sync` body. Only a missing `next_batch` is an error; anything else of the wrong shape is skipped.
    public static func decode(_ bytes: [UInt8]) throws(MatrixError) -> MatrixSyncResponse {
        let json: MatrixJSON
        do { json = try MatrixJSON.parse(bytes) } catch {
            throw MatrixError(.badResponse, "the /sync response is not JSON")
        }
        return try decode(json)
    }

    /// Decodes a parsed `/sync` body.
    public static func decode(_ json: MatrixJSON) throws(MatrixError) -> MatrixSyncResponse {
        guard let next = json["next_batch"]?.string, !next.isEmpty else {
            throw MatrixError(.badResponse, "the /sync response has no next_batch")
        }
        let rooms = json["rooms"]
        let joined = (rooms?["join"]?.object ?? [:]).sorted { $0.key < $1.key }.map { id, room in
            JoinedRoom(roomID: id, state: events(room["state"]?["events"]),
                       timeline: events(room["timeline"]?["events"]),
                       limited: room["timeline"]?["limited"]?.bool ?? false, prevBatch: room["timeline"]?["prev_batch"]?.string)
        }
        let invited = (rooms?["invite"]?.object ?? [:]).sorted { $0.key < $1.key }.map { id, room in
            InvitedRoom(roomID: id, state: events(room["invite_state"]?["events"]))
        }
        let left = (rooms?["leave"]?.object ?? [:]).keys.sorted()
        let directEvent = (json["account_data"]?["events"]?.array ?? []).last { $0["type"]?.string == "m.direct" }
        let direct = directEvent?["content"]?.object.map { map in
            map.compactMapValues { rooms in rooms.array?.compactMap(\.string) }
        }
        return MatrixSyncResponse(nextBatch: next, joined: joined, invited: invited, left: left, direct: direct)
    }

    private static func events(_ json: MatrixJSON?) -> [MatrixEvent] {
        (json?.array ?? []).compactMap(MatrixEvent.init(json:))
    }
}

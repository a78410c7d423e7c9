import BridgeCore

/// What the adapter remembers about its rooms from sync state, and how timeline events become Core events.
/// Pure: feed it sync responses, read back `PlatformEvent`s.
public struct MatrixRooms: Sendable {
    /// One room's display facts.
    public struct Room: Hashable, Sendable {
        /// `m.room.name`.
        public var name: String?
        /// `m.room.canonical_alias`.
        public var alias: String?
        /// Display names by user ID, from member state.
        public var displayNames: [String: String] = [:]
    }

    /// Our own user ID.
    public let ownUserID: String
    /// Events older than this (by origin timestamp) are not delivered after a restart.
    public var catchUpWindow: Duration
    /// Known rooms.
    public private(set) var rooms: [String: Room] = [:]
    /// Configured bots: user IDs, or prefixes ending in `*` (an appservice's namespace).
    public var bots: [String] = []
    /// In appservice mode, `@<prefix>` of the persona users: on our server, they are us too.
    public var ownUserPrefix: String?
    /// Direct rooms and the one user each is with, from our `m.direct` account data.
    public private(set) var directRooms: [String: String] = [:]
    /// Our whole `m.direct` map as last synced (user → rooms), so a new direct room is added to it, not over it.
    public private(set) var directMap: [String: [String]] = [:]

    /// Takes a new `m.direct` map (a sync carries the whole of it).
    public mutating func setDirect(_ map: [String: [String]]) {
        directMap = map
        directRooms = [:]
        for (user, rooms) in map { for room in rooms { directRooms[room] = user } }
    }

    /// Creates an empty directory.
    public init(ownUserID: String, catchUpWindow: Duration = .seconds(600)) {
        self.ownUserID = ownUserID
        self.catchUpWindow = catchUpWindow
    }

    /// Whether `user` is the bridge: its own user, or (appservice mode) a persona user of its namespace.
    public func isOwn(_ user: String) -> Bool {
        if user == ownUserID { return true }
        guard let ownUserPrefix, user.hasPrefix(ownUserPrefix) else { return false }
        let server = ownUserID.split(separator: ":", maxSplits: 1).dropFirst().first.map { ":" + $0 } ?? ""
        return !server.isEmpty && user.hasSuffix(server)
    }

    /// The Core channel for a room: keyed by room ID; name or alias for display.
    public func channel(_ roomID: String) -> ChannelRef {
        let room = rooms[roomID]
        let server = roomID.split(separator: ":", maxSplits: 1).dropFirst().first.map(String.init)
        return ChannelRef(platform: "matrix", channelID: roomID, channelName: room?.name ?? room?.alias ?? roomID,
                          serverName: server)
    }

    /// A user's display name in a room (their user ID without a member event).
    public func displayName(of user: String, in roomID: String) -> String {
        if let name = rooms[roomID]?.displayNames[user], !name.isEmpty { return name }
        return user
    }

    /// Applies one sync batch and returns the Core events, in order.
    ///
    /// - Parameters:
    ///   - initial: the first sync without a stored token: state is read, no timeline event is delivered.
    ///   - nowMs: the current time in ms since the epoch, for the catch-up window.
    public mutating func apply(_ sync: MatrixSyncResponse, initial: Bool, nowMs: Int) -> [PlatformEvent] {
        var out: [PlatformEvent] = []
        for room in sync.left { rooms[room] = nil }
        if let direct = sync.direct { setDirect(direct) }
        for joined in sync.joined {
            for event in joined.state { applyState(event, room: joined.roomID) }
            // History from before our own join (in this batch) is never answered.
            let ownJoin = joined.timeline.lastIndex {
                $0.type == "m.room.member" && $0.stateKey == ownUserID && $0.content["membership"]?.string == "join"
            }
            for (index, event) in joined.timeline.enumerated() {
                applyState(event, room: joined.roomID)
                if initial { continue }
                if let ownJoin, index <= ownJoin { continue }
                if let ts = event.originServerTS, Duration.milliseconds(nowMs - ts) > catchUpWindow,
                    event.type == "m.room.message" || event.type == "m.reaction"
                {
                    continue
                }
                if let mapped = map(event, room: joined.roomID) { out.append(mapped) }
            }
        }
        return out
    }

    mutating func applyState(_ event: MatrixEvent, room roomID: String) {
        guard event.stateKey != nil else { return }
        switch event.type {
        case "m.room.name":
            rooms[roomID, default: Room()].name = event.content["name"]?.string.flatMap { $0.isEmpty ? nil : $0 }
        case "m.room.canonical_alias":
            rooms[roomID, default: Room()].alias = event.content["alias"]?.string
        case "m.room.member":
            guard let user = event.stateKey else { return }
            let membership = event.content["membership"]?.string
            if membership == "join" || membership == "invite" {
                rooms[roomID, default: Room()].displayNames[user] = event.content["displayname"]?.string ?? user
            } else {
                rooms[roomID, default: Room()].displayNames[user] = nil
            }
        default:
            if rooms[roomID] == nil { rooms[roomID] = Room() }
        }
    }

    /// One timeline event as a Core event; `nil` for everything the bridge ignores.
    public func map(_ event: MatrixEvent, room roomID: String) -> PlatformEvent? {
        let channel = channel(roomID)
        switch event.type {
        case "m.room.redaction":
            guard let target = event.redacts else { return nil }
            return .messageDeleted(channel: channel, messageID: target)
        case "m.reaction":
            // A control reaction on a reply (🔁 ⏹ ◀ ▶ ➡); our own reactions and any other emoji are ignored.
            guard let id = event.eventID, let sender = event.sender, sender != ownUserID,
                  let relation = event.content["m.relates_to"], relation["rel_type"]?.string == "m.annotation",
                  let target = relation["event_id"]?.string, let key = relation["key"]?.string,
                  let command = BridgeCommand.replyControl(forReaction: key) else { return nil }
            let user = ChatUser(id: sender, displayName: displayName(of: sender, in: roomID),
                                isBot: isBot(sender, content: event.content))
            // A reaction cannot be answered privately: refusals are only logged by the router.
            return .interaction(InteractionRequest(id: id, command: command, user: user, channel: channel,
                                                   targetMessageID: target) { _ in })
        case "m.room.message":
            guard let id = event.eventID, let sender = event.sender else { return nil }
            let relation = event.content["m.relates_to"]
            if relation?["rel_type"]?.string == "m.replace" {
                // Our own edits are our streaming; the router stored the final text already.
                guard !isOwn(sender), let target = relation?["event_id"]?.string, let new = event.content["m.new_content"],
                    let text = Self.text(of: new)
                else { return nil }
                return .messageEdited(channel: channel, messageID: target, newText: text, editorID: sender)
            }
            guard var text = Self.text(of: event.content) else { return nil }
            let replyTo = relation?["m.in_reply_to"]?["event_id"]?.string
            if replyTo != nil { text = MatrixReplyFallback.stripBody(text) }
            let name = displayName(of: sender, in: roomID)
            let mentioned = event.content["m.mentions"]?["user_ids"]?.array?.contains { $0.string == ownUserID } ?? false
            let localpart = String(ownUserID.dropFirst().prefix { $0 != ":" })
            let ownName = displayName(of: ownUserID, in: roomID)
            let lower = text.lowercased()
            let mentionsUs = mentioned || text.contains(ownUserID)
                || (!localpart.isEmpty && lower.contains(localpart.lowercased()))
                || (ownName != ownUserID && lower.contains(ownName.lowercased()))
            // A direct room is a DM scene only for the user it is with: anyone else invited there gets no DM persona.
            var place = channel
            place.isDirect = directRooms[roomID] == sender
            return .messageCreated(IncomingMessage(
                channel: place, author: ChatUser(id: sender, displayName: name, isBot: isBot(sender, content: event.content)),
                messageID: id,
                text: text, replyTo: replyTo, mentionsUs: mentionsUs || place.isDirect, isOwnMessage: isOwn(sender)))
        default:
            return nil
        }
    }


    /// Whether a sender is a bot: listed in `bots` (exactly, or by a `prefix*` namespace), or the event carries a
    /// bot marker (`m.bot`, or the unstable `org.matrix.msc3955.bot` flag bridges and bot SDKs set).
    func isBot(_ sender: String, content: MatrixJSON) -> Bool {
        if isOwn(sender) { return false }
        if content["m.bot"] != nil || content["org.matrix.msc3955.bot"] != nil { return true }
        return bots.contains { entry in
            entry.hasSuffix("*") ? sender.hasPrefix(entry.dropLast()) : entry == sender
        }
    }

    /// Text of `m.text` and `m.emote` (as `*action*`); `nil` for notices, media and unknown types.
    static func text(of content: MatrixJSON) -> String? {
        guard let body = content["body"]?.string else { return nil }
        switch content["msgtype"]?.string {
        case "m.text": return body
        case "m.emote": return "*\(body)*"
        default: return nil
        }
    }
}

import BridgeCore
@testable import PlatformMatrix
import Testing

/// Control reactions (🔁 ⏹ ◀ ▶ ➡) become interaction requests aimed at the reacted-to event.
@Suite struct MatrixReactionTests {
    static func sync(_ events: String) -> String {
        """
        {"next_batch":"s2","rooms":{"join":{"!r:localhost":{"timeline":{"limited":false,"events":[\(events)]}}}}}
        """
    }

    static func reaction(_ id: String, by sender: String, key: String, on target: String = "$reply") -> String {
        """
        {"type":"m.reaction","event_id":"\(id)","sender":"\(sender)","origin_server_ts":1000,
         "content":{"m.relates_to":{"rel_type":"m.annotation","event_id":"\(target)","key":"\(key)"}}}
        """
    }

    @Test func controlReactionsMapToCommandsAndOthersAreIgnored() throws {
        let events = [
            Self.reaction("$1", by: "@alice:localhost", key: "🔁"),
            Self.reaction("$2", by: "@alice:localhost", key: "⏹️"),
            Self.reaction("$3", by: "@alice:localhost", key: "◀️"),
            Self.reaction("$4", by: "@alice:localhost", key: "▶"),
            Self.reaction("$5", by: "@alice:localhost", key: "➡️"),
            Self.reaction("$6", by: "@alice:localhost", key: "👍"),
            Self.reaction("$7", by: "@bot:localhost", key: "🔁"),
        ].joined(separator: ",")
        let decoded = try MatrixSyncResponse.decode(Array(Self.sync(events).utf8))
        var rooms = MatrixRooms(ownUserID: "@bot:localhost")
        let out = rooms.apply(decoded, initial: false, nowMs: 2000)
        let requests = out.compactMap { event -> InteractionRequest? in
            if case .interaction(let request) = event { return request }
            return nil
        }
        #expect(requests.map(\.command) == [.regenerate, .stop, .previousAlternative, .nextAlternative, .continueReply])
        #expect(requests.allSatisfy { $0.targetMessageID == "$reply" && $0.user.id == "@alice:localhost" })
        #expect(out.count == 5, "a thumbs-up and the bot's own reaction are ignored")
    }
}

import Foundation

/// Calls an application service makes with its `as_token`, acting as users of its namespace (`?user_id=`).
extension MatrixClient {
    static func masquerading(_ userID: String?) -> [(String, String)] {
        userID.map { [("user_id", $0)] } ?? []
    }

    /// Registers a namespace user (`m.login.application_service`); false when it already exists (`M_USER_IN_USE`).
    @discardableResult
    public func registerAppserviceUser(localpart: String) async throws(MatrixError) -> Bool {
        do {
            try await call(.post, "/register", body: [
                "type": "m.login.application_service", "username": .string(localpart), "inhibit_login": true,
            ])
            return true
        } catch where error.errcode == "M_USER_IN_USE" {
            return false
        }
    }

    /// Sets a user's display name.
    public func setDisplayName(_ name: String, of userID: String, asUser: String?) async throws(MatrixError) {
        try await call(.put, "/profile/\(Self.segment(userID))/displayname", query: Self.masquerading(asUser),
                       body: ["displayname": .string(name)])
    }

    /// Sets a user's avatar to an `mxc://` URI.
    public func setAvatarURL(_ uri: String, of userID: String, asUser: String?) async throws(MatrixError) {
        try await call(.put, "/profile/\(Self.segment(userID))/avatar_url", query: Self.masquerading(asUser),
                       body: ["avatar_url": .string(uri)])
    }

    /// Uploads media; the `mxc://` URI.
    public func uploadMedia(_ bytes: [UInt8], contentType: String, filename: String, asUser: String?) async throws(MatrixError) -> String {
        let raw = try await raw(.post, "/_matrix/media/v3/upload", query: [("filename", filename)] + Self.masquerading(asUser),
                                upload: (bytes, contentType))
        guard let json = try? MatrixJSON.parse(raw), let uri = json["content_uri"]?.string else {
            throw MatrixError(.badResponse, "upload answer has no content_uri")
        }
        return uri
    }

    /// Joins a room as `asUser`.
    public func join(_ roomID: String, asUser: String?) async throws(MatrixError) {
        try await call(.post, "/rooms/\(Self.segment(roomID))/join", query: Self.masquerading(asUser), body: [:])
    }

    /// Leaves a room as `asUser`.
    public func leave(_ roomID: String, asUser: String?) async throws(MatrixError) {
        try await call(.post, "/rooms/\(Self.segment(roomID))/leave", query: Self.masquerading(asUser), body: [:])
    }

    /// Invites `userID` into a room, as `asUser`.
    public func invite(_ userID: String, to roomID: String, asUser: String?) async throws(MatrixError) {
        try await call(.post, "/rooms/\(Self.segment(roomID))/invite", query: Self.masquerading(asUser),
                       body: ["user_id": .string(userID)])
    }

    /// `PUT …/send/{type}/{txnId}` as `asUser`; the event ID.
    public func send(_ roomID: String, txnID: String, content: MatrixJSON, asUser: String?) async throws(MatrixError) -> String {
        guard let asUser else { return try await send(roomID, txnID: txnID, content: content) }
        let json = try await call(.put, "/rooms/\(Self.segment(roomID))/send/m.room.message/\(Self.segment(txnID))",
                                  query: Self.masquerading(asUser), body: content)
        guard let id = json["event_id"]?.string else { throw MatrixError(.badResponse, "send answer has no event_id") }
        return id
    }
}

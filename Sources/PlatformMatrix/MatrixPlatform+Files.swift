import BridgeCore
import Foundation

extension MatrixPlatform: PlatformFileSender {
    /// Posts `caption` as a notice and the file as an `m.file` event (uploaded to the media repository first).
    public func sendFile(_ contents: [UInt8], filename: String, contentType: String, caption: String, in channel: ChannelRef,
                         replyTo: String?) async throws {
        let room = channel.channelID
        let uri = try await client.uploadMedia(contents, contentType: contentType, filename: filename)
        _ = try await client.send(room, txnID: "pbf" + UUID().uuidString, content: [
            "msgtype": "m.notice", "body": .string(caption),
        ])
        _ = try await client.send(room, txnID: "pbf" + UUID().uuidString, content: [
            "msgtype": "m.file", "body": .string(filename), "filename": .string(filename), "url": .string(uri),
            "info": ["mimetype": .string(contentType), "size": .number(Double(contents.count))],
        ])
    }
}

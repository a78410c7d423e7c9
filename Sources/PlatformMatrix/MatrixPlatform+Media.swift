import BridgeCore
import Foundation

extension MatrixPlatform {
    /// Downloads `mxc://server/media` through the authenticated media endpoint (`/_matrix/client/v1/media/download`,
    /// Matrix 1.11), with the bridge's access token, refusing more than `maxBytes`.
    public func download(_ attachment: ChatAttachment, maxBytes: Int) async throws -> [UInt8] {
        let parts = attachment.url.hasPrefix("mxc://") ? attachment.url.dropFirst(6).split(separator: "/", omittingEmptySubsequences: false) : []
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
            throw AttachmentDownloadError(code: .refusedURL, message: "Matrix media is named mxc://server/media-id")
        }
        let path = "/_matrix/client/v1/media/download/\(MatrixClient.segment(String(parts[0])))/\(MatrixClient.segment(String(parts[1])))"
        do {
            return try await client.raw(.get, path, timeout: .seconds(60), maxBytes: maxBytes)
        } catch {
            if error.code == .transport && error.message.contains("bodyTooLarge") {
                throw AttachmentDownloadError(code: .tooLarge, message: "the file is larger than \(maxBytes) bytes")
            }
            throw AttachmentDownloadError(code: .failed, message: "the homeserver did not serve \(attachment.url): \(error.message)")
        }
    }
}

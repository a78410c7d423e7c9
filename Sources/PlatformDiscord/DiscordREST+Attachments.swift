import BridgeCore
import Foundation
import HTTPTransport

extension DiscordREST {
    /// Hosts that serve message attachments; besides them only the API's own host (a local test server) is fetched.
    static let attachmentHosts: Set<String> = ["cdn.discordapp.com", "media.discordapp.net"]

    /// Downloads a message attachment from Discord's CDN, without the bot token (the signed URL is the credential),
    /// refusing other hosts and bodies over `maxBytes`.
    func downloadAttachment(url: String, maxBytes: Int) async throws -> [UInt8] {
        guard let components = URLComponents(string: url), let host = components.host?.lowercased(),
              let scheme = components.scheme?.lowercased() else {
            throw AttachmentDownloadError(code: .refusedURL, message: "the attachment has no usable URL")
        }
        let api = URLComponents(string: baseURL)
        let isCDN = scheme == "https" && Self.attachmentHosts.contains(host)
        let isAPIHost = host == api?.host?.lowercased() && scheme == api?.scheme?.lowercased() && components.port == api?.port
        guard isCDN || isAPIHost else {
            throw AttachmentDownloadError(code: .refusedURL, message: "attachments are fetched only from Discord's CDN, not \(host)")
        }
        let response = try await http.execute(HTTPRequest(url: url, headers: ["User-Agent": userAgent],
                                                          timeouts: HTTPTimeouts(connect: .seconds(10), total: .seconds(60))))
        guard response.status == 200 else {
            _ = try? await response.body.collect(upTo: 64 << 10)
            throw AttachmentDownloadError(code: .failed, message: "Discord's CDN answered HTTP \(response.status)")
        }
        if let length = response.headers["content-length"].flatMap({ Int($0) }), length > maxBytes {
            _ = try? await response.body.collect(upTo: 0)
            throw AttachmentDownloadError(code: .tooLarge, message: "the file is \(length) bytes; the limit is \(maxBytes)")
        }
        do {
            return try await response.body.collect(upTo: maxBytes)
        } catch let error as HTTPClientError where error.code == .bodyTooLarge {
            throw AttachmentDownloadError(code: .tooLarge, message: "the file is larger than \(maxBytes) bytes")
        }
    }
}

extension DiscordPlatform {
    /// Fetches an attachment of a message this adapter delivered (a card for `persona import`).
    public func download(_ attachment: ChatAttachment, maxBytes: Int) async throws -> [UInt8] {
        try await rest.downloadAttachment(url: attachment.url, maxBytes: maxBytes)
    }
}

/// A file attached to a chat message (a Discord attachment, a Matrix `mxc://` media), as far as the bridge needs it.
public struct ChatAttachment: Hashable, Sendable {
    /// Where the platform serves it (`https://cdn.discordapp.com/…`, `mxc://server/id`).
    public var url: String
    /// File name as uploaded.
    public var filename: String
    /// Size in bytes, when the platform tells it before the download.
    public var size: Int?
    /// MIME type, when known.
    public var contentType: String?

    /// Creates an attachment.
    public init(url: String, filename: String, size: Int? = nil, contentType: String? = nil) {
        self.url = url
        self.filename = filename
        self.size = size
        self.contentType = contentType
    }
}

/// A download of an attachment failed or was refused.
public struct AttachmentDownloadError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What went wrong.
    public struct Code: Hashable, Sendable {
        let raw: String
        /// The platform cannot fetch attachments.
        public static let unsupported = Code(raw: "unsupported")
        /// Larger than the caller's limit.
        public static let tooLarge = Code(raw: "tooLarge")
        /// The URL is not one this platform fetches from.
        public static let refusedURL = Code(raw: "refusedURL")
        /// The server answered with an error or the transfer failed.
        public static let failed = Code(raw: "failed")
    }

    /// Kind of failure.
    public var code: Code
    /// What to tell the user.
    public var message: String

    /// Creates an error.
    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }

    /// The message.
    public var description: String { message }
}

extension PlatformSender {
    /// Platforms without a download path (IRC, the console) refuse every attachment with a clear message.
    public func download(_ attachment: ChatAttachment, maxBytes: Int) async throws -> [UInt8] {
        throw AttachmentDownloadError(code: .unsupported, message: "\(platformName) cannot fetch attached files")
    }
}

import Foundation

extension MatrixClient {
    /// Uploads a file to the homeserver's media repository; returns its `mxc://` URI.
    public func uploadMedia(_ bytes: [UInt8], contentType: String, filename: String) async throws(MatrixError) -> String {
        let answer = try await raw(.post, "/_matrix/media/v3/upload", query: [("filename", filename)],
                                   upload: (bytes, contentType))
        guard let json = try? MatrixJSON.parse(answer), let uri = json["content_uri"]?.string, uri.hasPrefix("mxc://") else {
            throw MatrixError(.badResponse, "the media upload answered without a content_uri", request: "POST /media/v3/upload")
        }
        return uri
    }
}

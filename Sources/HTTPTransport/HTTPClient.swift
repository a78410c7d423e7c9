internal import CCurl
import Logging

/// An async HTTP/1.1 and HTTP/2 client over the libcurl multi interface.
///
/// One plain driver thread per client runs every transfer with `curl_multi_poll`; callers only
/// queue work and wake it with `curl_multi_wakeup`, so there is no thread per request and the
/// cooperative pool is never blocked. `execute` returns once the final status and headers
/// arrived (interim 1xx blocks and followed redirects are skipped); the body then streams as
/// `HTTPResponseBody` with backpressure: when its bounded buffer is full the write callback
/// pauses the transfer, and reading resumes it. Cancelling the consuming task, or dropping the
/// body, removes the transfer. HTTP error statuses are responses; only transport failures throw
/// `HTTPClientError`, each timeout kind with its own code. TLS verification is on by default,
/// curl's proxy environment variables are honoured, HTTP/2 is negotiated over TLS, and the multi
/// handle's connection cache reuses connections. Logs carry method, URL and status only —
/// never header values or bodies, which may hold secrets.
public final class HTTPClient: Sendable {
    /// Client-wide settings.
    public struct Configuration: Sendable {
        /// PEM file of CA certificates to trust instead of the system store.
        public var caFile: String?
        /// Whether to verify the server certificate and host name (keep on outside tests).
        public var verifyTLS: Bool
        /// `User-Agent` for requests that do not set one.
        public var userAgent: String?
        /// Whether 3xx responses with a `Location` are followed (up to 10 hops).
        public var followRedirects: Bool
        /// Body bytes buffered per response before the transfer pauses.
        public var bodyBufferLimit: Int
        /// Proxy URL for every request; nil means curl's usual `http_proxy`/`https_proxy`/`no_proxy`
        /// environment variables apply.
        public var proxy: String?

        /// Creates a configuration.
        public init(
            caFile: String? = nil, verifyTLS: Bool = true, userAgent: String? = nil, followRedirects: Bool = true,
            bodyBufferLimit: Int = 256 * 1024, proxy: String? = nil
        ) {
            self.proxy = proxy
            self.caFile = caFile
            self.verifyTLS = verifyTLS
            self.userAgent = userAgent
            self.followRedirects = followRedirects
            self.bodyBufferLimit = bodyBufferLimit
        }
    }

    /// The settings this client was made with.
    public let configuration: Configuration
    private let logger: Logger
    private let driver: CurlDriver?
    private let startupError: HTTPClientError?

    /// Creates a client and starts its driver thread.
    public init(configuration: Configuration = .init(), logger: Logger = Logger(label: "persona-bridge.http")) {
        self.configuration = configuration
        self.logger = logger
        if !curlGlobalInitialized {
            driver = nil
            startupError = HTTPClientError(code: .transport, message: "curl_global_init failed")
            return
        }
        do {
            let driver = try CurlDriver(logger: logger)
            driver.start()
            self.driver = driver
            startupError = nil
        } catch let error as HTTPClientError {
            driver = nil
            startupError = error
        } catch {
            driver = nil
            startupError = HTTPClientError(code: .transport, message: "\(error)")
        }
    }

    deinit { shutdown() }

    /// Stops the driver thread; in-flight requests fail with `.shutdown`. Idempotent.
    public func shutdown() {
        driver?.shutdown()
    }

    /// Returns once the response status and headers arrived; the body streams after.
    public func execute(_ request: HTTPRequest) async throws -> HTTPResponse {
        guard let driver else { throw startupError! }
        if driver.isShutDown {
            throw HTTPClientError(code: .shutdown, message: "the HTTP client was shut down", url: request.url)
        }
        if Task.isCancelled {
            throw HTTPClientError(code: .cancelled, message: "the request's task was cancelled", url: request.url)
        }
        let id = driver.makeRequestID()
        var logger = self.logger
        logger[metadataKey: "request-id"] = "\(id)"
        let easy = try CurlEasy()
        let transfer = Transfer(
            id: id, request: request, followRedirects: configuration.followRedirects,
            bufferLimit: configuration.bodyBufferLimit, handleKey: easy.handle, driver: driver)
        try configure(easy, for: request, transfer: transfer)
        logger.trace("HTTP request", metadata: ["method": "\(request.method)", "url": "\(request.url)"])

        let response = try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<HTTPResponse, Error>) in
                // Cancelled before it started: nothing to hand to the driver.
                guard transfer.setHeadContinuation(continuation) else { return }
                if !driver.submit(easy, transfer) {
                    transfer.finish(
                        .failure(
                            HTTPClientError(code: .shutdown, message: "the HTTP client was shut down", url: request.url)),
                        fallbackStatus: nil)
                }
            }
        } onCancel: {
            transfer.cancel(code: .cancelled, message: "the request's task was cancelled")
        }
        logger.trace(
            "HTTP response",
            metadata: ["method": "\(request.method)", "url": "\(request.url)", "status": "\(response.status)"])
        return response
    }

    private func configure(_ easy: CurlEasy, for request: HTTPRequest, transfer: Transfer) throws {
        try validate(request)
        let unmanaged = Unmanaged.passUnretained(transfer).toOpaque()  // the driver's `active` table owns it
        try easy.set(CURLOPT_URL, request.url)
        try easy.set(CURLOPT_NOSIGNAL, 1)
        try easy.set(CURLOPT_PROTOCOLS_STR, "http,https")
        try easy.set(CURLOPT_REDIR_PROTOCOLS_STR, "http,https")
        try easy.set(CURLOPT_HTTP_VERSION, pb_curl_http_version_2tls())
        // Waiting to multiplex only pays where HTTP/2 can be negotiated (TLS ALPN). On plain HTTP it made
        // requests started together queue behind one long stream on the first connection.
        if request.url.lowercased().hasPrefix("https://") { try easy.set(CURLOPT_PIPEWAIT, 1) }
        try easy.set(CURLOPT_SUPPRESS_CONNECT_HEADERS, 1)
        try easy.set(CURLOPT_TCP_KEEPALIVE, 1)
        try easy.set(CURLOPT_FOLLOWLOCATION, configuration.followRedirects ? 1 : 0)
        try easy.set(CURLOPT_MAXREDIRS, 10)
        try easy.set(CURLOPT_SSL_VERIFYPEER, configuration.verifyTLS ? 1 : 0)
        try easy.set(CURLOPT_SSL_VERIFYHOST, configuration.verifyTLS ? 2 : 0)
        if let caFile = configuration.caFile { try easy.set(CURLOPT_CAINFO, caFile) }
        if let proxy = configuration.proxy { try easy.set(CURLOPT_PROXY, proxy) }
        if let userAgent = configuration.userAgent { try easy.set(CURLOPT_USERAGENT, userAgent) }

        try easy.set(CURLOPT_CONNECTTIMEOUT_MS, milliseconds(request.timeouts.connect))
        if let total = request.timeouts.total { try easy.set(CURLOPT_TIMEOUT_MS, milliseconds(total)) }
        if let idle = request.timeouts.idle {
            // Our progress check fires first; curl's low-speed limit is a backstop that also
            // keeps a once-a-second timer running so the check runs on a silent connection.
            try easy.set(CURLOPT_LOW_SPEED_LIMIT, 1)
            try easy.set(CURLOPT_LOW_SPEED_TIME, Int(idle.components.seconds) + 2)
        }

        try easy.set(CURLOPT_NOPROGRESS, 0)
        try easy.set(CURLOPT_XFERINFODATA, unmanaged)
        _ = pb_curl_easy_setopt_xferinfo_callback(easy.handle, curlProgressCallback)
        try easy.set(CURLOPT_WRITEDATA, unmanaged)
        _ = pb_curl_easy_setopt_write_callback(easy.handle, curlWriteCallback)
        try easy.set(CURLOPT_HEADERDATA, unmanaged)
        _ = pb_curl_easy_setopt_header_callback(easy.handle, curlHeaderCallback)

        var lines: [String] = []
        for (name, value) in request.headers {
            // "Name;" is curl's spelling of a header with an empty value ("Name:" would remove it).
            lines.append(value.isEmpty ? "\(name);" : "\(name): \(value)")
        }
        switch request.method {
        case .get:
            try easy.set(CURLOPT_HTTPGET, 1)
        case .head:
            try easy.set(CURLOPT_NOBODY, 1)
        case .post:
            try easy.set(CURLOPT_POST, 1)
        default:
            try easy.set(CURLOPT_CUSTOMREQUEST, request.method.rawValue)
        }
        if let body = request.body {
            try easy.set(CURLOPT_POSTFIELDSIZE_LARGE, offset: Int64(body.count))
            // COPYPOSTFIELDS copies the bytes, so the request's array need not outlive this call.
            try body.withUnsafeBytes { raw in
                let base = raw.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!
                try easy.set(CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: base))
            }
            if request.method != .post { try easy.set(CURLOPT_CUSTOMREQUEST, request.method.rawValue) }
            if !request.headers.contains(name: "content-type") { lines.append("Content-Type:") }
            lines.append("Expect:")  // no 100-continue round trip for large bodies
        } else if request.method == .post {
            try easy.set(CURLOPT_POSTFIELDSIZE_LARGE, offset: 0)
            try easy.set(CURLOPT_COPYPOSTFIELDS, "")
            if !request.headers.contains(name: "content-type") { lines.append("Content-Type:") }
        }
        try easy.setHeaderLines(lines)
    }

    private func validate(_ request: HTTPRequest) throws {
        let lowered = request.url.lowercased()
        guard lowered.hasPrefix("http://") || lowered.hasPrefix("https://"), lowered.count > 8 else {
            throw HTTPClientError(code: .invalidURL, message: "only absolute http:// and https:// URLs are supported", url: request.url)
        }
        if request.url.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value == 0x7F }) {
            throw HTTPClientError(code: .invalidURL, message: "the URL contains spaces or control characters", url: request.url)
        }
        for (name, value) in request.headers {
            if name.isEmpty || name.unicodeScalars.contains(where: { $0 == ":" || $0.value <= 0x20 || $0.value == 0x7F }) {
                throw HTTPClientError(code: .invalidRequest, message: "invalid header name '\(name)'", url: request.url)
            }
            if value.unicodeScalars.contains(where: { $0 == "\r" || $0 == "\n" || $0 == "\0" }) {
                // The value itself is not echoed: it may be a secret.
                throw HTTPClientError(code: .invalidRequest, message: "the value of header '\(name)' contains a line break", url: request.url)
            }
        }
        if request.method.rawValue.isEmpty || request.method.rawValue.contains(where: { $0.isWhitespace }) {
            throw HTTPClientError(code: .invalidRequest, message: "invalid method '\(request.method)'", url: request.url)
        }
    }

    private func milliseconds(_ duration: Duration) -> Int {
        let (seconds, attoseconds) = duration.components
        return max(1, Int(seconds) * 1000 + Int(attoseconds / 1_000_000_000_000_000))
    }
}

// C callbacks: `userdata` is the transfer, kept alive by the driver while its handle is in the multi.

private func curlWriteCallback(
    _ data: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int, _ userdata: UnsafeMutableRawPointer?
) -> Int {
    guard let userdata else { return 0 }
    let transfer = Unmanaged<Transfer>.fromOpaque(userdata).takeUnretainedValue()
    let bytes = UnsafeRawBufferPointer(start: data, count: data == nil ? 0 : size * count)
    return transfer.onBody(bytes, pauseValue: pb_curl_writefunc_pause())
}

private func curlHeaderCallback(
    _ data: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int, _ userdata: UnsafeMutableRawPointer?
) -> Int {
    guard let userdata else { return 0 }
    let transfer = Unmanaged<Transfer>.fromOpaque(userdata).takeUnretainedValue()
    transfer.onHeaderLine(UnsafeRawBufferPointer(start: data, count: data == nil ? 0 : size * count))
    return size * count
}

private func curlProgressCallback(
    _ userdata: UnsafeMutableRawPointer?, _ downloadTotal: curl_off_t, _ downloaded: curl_off_t,
    _ uploadTotal: curl_off_t, _ uploaded: curl_off_t
) -> Int32 {
    guard let userdata else { return 0 }
    let transfer = Unmanaged<Transfer>.fromOpaque(userdata).takeUnretainedValue()
    return transfer.onProgress(downloaded: Int64(downloaded), uploaded: Int64(uploaded))
}

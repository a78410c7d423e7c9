import DequeModule
import Foundation

/// One request's state, shared by the driver thread (curl callbacks) and the consuming task.
///
/// `@unchecked Sendable`: the immutable fields are set in `init`; every mutable field is
/// guarded by `lock`, and continuations are always resumed after the lock is released.
final class Transfer: @unchecked Sendable {
    let id: UInt64
    let method: HTTPMethod
    let url: String
    let followRedirects: Bool
    let bufferLimit: Int
    let idleLimit: Duration?
    /// Address of the easy handle: the driver's key for this transfer.
    let handleKey: UnsafeMutableRawPointer
    private let driver: CurlDriver

    private let lock = NSLock()
    private var status = 0
    private var headers = HTTPHeaders()
    private var headDelivered = false
    private var headContinuation: CheckedContinuation<HTTPResponse, Error>?
    private var chunks = Deque<[UInt8]>()
    private var bufferedBytes = 0
    private var paused = false
    private var unpauseRequested = false
    private var outcome: Result<Void, HTTPClientError>?
    private var bodyWaiter: CheckedContinuation<[UInt8]?, Error>?
    // Idle detection. A monotonic wall clock is used on purpose: curl's own timers are real time.
    private var lastActivity = ContinuousClock.now
    private var lastDown: Int64 = -1
    private var lastUp: Int64 = -1
    private var idleFired = false

    init(
        id: UInt64, request: HTTPRequest, followRedirects: Bool, bufferLimit: Int,
        handleKey: UnsafeMutableRawPointer, driver: CurlDriver
    ) {
        self.id = id
        method = request.method
        url = request.url
        self.followRedirects = followRedirects
        self.bufferLimit = max(1, bufferLimit)
        idleLimit = request.timeouts.idle
        self.handleKey = handleKey
        self.driver = driver
    }

    /// Whether the transfer was aborted by the idle check.
    var idleTimedOut: Bool { lock.withLock { idleFired } }

    // MARK: consumer side

    /// Stores the continuation `execute` waits on; false (and resumed) if the transfer already failed.
    func setHeadContinuation(_ continuation: CheckedContinuation<HTTPResponse, Error>) -> Bool {
        lock.lock()
        if case .failure(let error)? = outcome {
            lock.unlock()
            continuation.resume(throwing: error)
            return false
        }
        headContinuation = continuation
        lock.unlock()
        return true
    }

    func nextChunk() async throws -> [UInt8]? {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<[UInt8]?, Error>) in
            lock.lock()
            if let chunk = chunks.popFirst() {
                bufferedBytes -= chunk.count
                let wake = paused && !unpauseRequested && bufferedBytes <= bufferLimit / 2
                if wake { unpauseRequested = true }
                lock.unlock()
                if wake { driver.requestUnpause(self) }
                continuation.resume(returning: chunk)
                return
            }
            switch outcome {
            case .success?:
                lock.unlock()
                continuation.resume(returning: nil)
            case .failure(let error)?:
                lock.unlock()
                continuation.resume(throwing: error)
            case nil:
                let wake = paused && !unpauseRequested
                if wake { unpauseRequested = true }
                bodyWaiter = continuation
                lock.unlock()
                if wake { driver.requestUnpause(self) }
            }
        }
    }

    /// Whether the transfer has ended (completed, failed or cancelled).
    var hasFinished: Bool {
        lock.lock()
        defer { lock.unlock() }
        return outcome != nil
    }

    /// Aborts the transfer unless it already ended; wakes every waiter with the error.
    func cancel(code: HTTPClientError.Code, message: String) {
        let error = HTTPClientError(code: code, message: message, url: url)
        if finish(.failure(error), fallbackStatus: nil) {
            driver.requestRemove(self)
        }
    }

    // MARK: driver-thread side (curl callbacks)

    /// Driver thread: the transfer was unpaused with `curl_easy_pause`.
    func markResumed() {
        lock.withLock {
            paused = false
            unpauseRequested = false
            lastActivity = .now
        }
    }

    /// Header callback: one raw header line (status line, field, or the blank end line).
    func onHeaderLine(_ bytes: UnsafeRawBufferPointer) {
        var end = bytes.count
        while end > 0, bytes[end - 1] == 10 || bytes[end - 1] == 13 { end -= 1 }
        let line = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[0..<end]), as: UTF8.self)
        lock.lock()
        lastActivity = .now
        if headDelivered || outcome != nil {
            lock.unlock()  // trailers, or a transfer already aborted
            return
        }
        if line.hasPrefix("HTTP/") {
            let parts = line.split(separator: " ", maxSplits: 2)
            status = parts.count > 1 ? Int(parts[1]) ?? 0 : 0
            headers = HTTPHeaders()
            lock.unlock()
            return
        }
        if !line.isEmpty {
            if let colon = line.firstIndex(of: ":") {
                let name = String(line[..<colon]).trimmingCharacters(in: .whitespaces)
                let value = String(line[line.index(after: colon)...]).trimmingCharacters(in: .whitespaces)
                headers.add(name: name, value: value)
            }
            lock.unlock()
            return
        }
        // End of a header block: only the final block makes the response.
        let interim = (100..<200).contains(status) && status != 101
        let redirected =
            followRedirects && [301, 302, 303, 307, 308].contains(status) && headers["location"] != nil
        if interim || redirected {
            lock.unlock()
            return
        }
        headDelivered = true
        let continuation = headContinuation
        headContinuation = nil
        let response = HTTPResponse(
            status: status, headers: headers, body: HTTPResponseBody(stream: BodyStream(transfer: self)))
        lock.unlock()
        continuation?.resume(returning: response)
    }

    /// Write callback: returns bytes taken, 0 to abort, or `pauseValue` to pause.
    func onBody(_ bytes: UnsafeRawBufferPointer, pauseValue: Int) -> Int {
        lock.lock()
        if outcome != nil {
            lock.unlock()
            return 0
        }
        lastActivity = .now
        guard headDelivered else {
            lock.unlock()
            return bytes.count  // body of an interim or redirect response
        }
        if bufferedBytes >= bufferLimit {
            paused = true
            lock.unlock()
            return pauseValue  // curl keeps these bytes and hands them over again on unpause
        }
        let chunk = [UInt8](bytes)
        if let waiter = bodyWaiter {
            bodyWaiter = nil
            lock.unlock()
            waiter.resume(returning: chunk)
        } else {
            chunks.append(chunk)
            bufferedBytes += chunk.count
            lock.unlock()
        }
        return bytes.count
    }

    /// Progress callback: nonzero aborts (cancelled, or idle for too long).
    func onProgress(downloaded: Int64, uploaded: Int64) -> Int32 {
        lock.lock()
        defer { lock.unlock() }
        if outcome != nil { return 1 }
        let now = ContinuousClock.now
        if paused || downloaded != lastDown || uploaded != lastUp {
            lastDown = downloaded
            lastUp = uploaded
            lastActivity = now
            return 0
        }
        if let idleLimit, now - lastActivity > idleLimit {
            idleFired = true
            return 1
        }
        return 0
    }

    /// Ends the transfer once; delivers a head built from `fallbackStatus` if none arrived.
    /// Returns whether this call ended it.
    @discardableResult
    func finish(_ result: Result<Void, HTTPClientError>, fallbackStatus: Int?) -> Bool {
        lock.lock()
        guard outcome == nil else {
            lock.unlock()
            return false
        }
        outcome = result
        var headResume: Result<HTTPResponse, Error>?
        if !headDelivered, let continuation = headContinuation {
            headContinuation = nil
            switch result {
            case .success:
                headDelivered = true
                headResume = .success(
                    HTTPResponse(
                        status: fallbackStatus ?? status, headers: headers,
                        body: HTTPResponseBody(stream: BodyStream(transfer: self))))
            case .failure(let error):
                headResume = .failure(error)
            }
            lock.unlock()
            if let headResume { continuation.resume(with: headResume) }
            return true
        }
        var waiterResume: Result<[UInt8]?, Error>?
        let waiter = bodyWaiter
        if waiter != nil {
            bodyWaiter = nil
            switch result {
            case .success: waiterResume = .success(nil)
            case .failure(let error): waiterResume = .failure(error)
            }
        }
        // A cancelled body is dropped; after a transport failure the consumer still reads every byte that
        // arrived before the error (a reply cut off mid-stream keeps its partial text).
        if case .failure(let error) = result, error.code == .cancelled || error.code == .shutdown {
            chunks.removeAll()
            bufferedBytes = 0
        }
        lock.unlock()
        if let waiter, let waiterResume { waiter.resume(with: waiterResume) }
        return true
    }
}

import DequeModule
import Foundation
import Synchronization

/// One request's state, shared by the driver thread (curl callbacks) and the consuming task.
///
/// The immutable fields are set in `init`; every mutable field lives in `state`, a mutex, and continuations
/// are always resumed after it is released.
final class Transfer: Sendable {
    let id: UInt64
    let method: HTTPMethod
    let url: String
    let followRedirects: Bool
    let bufferLimit: Int
    let idleLimit: Duration?
    /// Address of the easy handle: the driver's key for this transfer.
    // nonisolated(unsafe): only compared as a key; it is dereferenced on the driver thread alone.
    nonisolated(unsafe) let handleKey: UnsafeMutableRawPointer
    private let driver: CurlDriver

    private struct State {
        var status = 0
        var headers = HTTPHeaders()
        var headDelivered = false
        var headContinuation: CheckedContinuation<HTTPResponse, Error>?
        var chunks = Deque<[UInt8]>()
        var bufferedBytes = 0
        var paused = false
        var unpauseRequested = false
        var outcome: Result<Void, HTTPClientError>?
        var bodyWaiter: CheckedContinuation<[UInt8]?, Error>?
        // Idle detection. A monotonic wall clock is used on purpose: curl's own timers are real time.
        var lastActivity = ContinuousClock.now
        var lastDown: Int64 = -1
        var lastUp: Int64 = -1
        var idleFired = false
    }

    private let state = Mutex(State())

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
    var idleTimedOut: Bool { state.withLock { $0.idleFired } }

    // MARK: consumer side

    /// Stores the continuation `execute` waits on; false (and resumed) if the transfer already failed.
    func setHeadContinuation(_ continuation: CheckedContinuation<HTTPResponse, Error>) -> Bool {
        let failure = state.withLock { s -> HTTPClientError? in
            if case .failure(let error)? = s.outcome { return error }
            s.headContinuation = continuation
            return nil
        }
        if let failure {
            continuation.resume(throwing: failure)
            return false
        }
        return true
    }

    func nextChunk() async throws -> [UInt8]? {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<[UInt8]?, Error>) in
            let (answer, wake) = state.withLock { s -> (Result<[UInt8]?, Error>?, Bool) in
                if let chunk = s.chunks.popFirst() {
                    s.bufferedBytes -= chunk.count
                    let wake = s.paused && !s.unpauseRequested && s.bufferedBytes <= bufferLimit / 2
                    if wake { s.unpauseRequested = true }
                    return (.success(chunk), wake)
                }
                switch s.outcome {
                case .success?:
                    return (.success(nil), false)
                case .failure(let error)?:
                    return (.failure(error), false)
                case nil:
                    let wake = s.paused && !s.unpauseRequested
                    if wake { s.unpauseRequested = true }
                    s.bodyWaiter = continuation
                    return (nil, wake)
                }
            }
            if wake { driver.requestUnpause(self) }
            if let answer { continuation.resume(with: answer) }
        }
    }

    /// Whether the transfer has ended (completed, failed or cancelled).
    var hasFinished: Bool {
        state.withLock { $0.outcome != nil }
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
        state.withLock { s in
            s.paused = false
            s.unpauseRequested = false
            s.lastActivity = .now
        }
    }

    /// Header callback: one raw header line (status line, field, or the blank end line).
    func onHeaderLine(_ bytes: UnsafeRawBufferPointer) {
        var end = bytes.count
        while end > 0, bytes[end - 1] == 10 || bytes[end - 1] == 13 { end -= 1 }
        let line = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[0..<end]), as: UTF8.self)
        let delivery = state.withLock { s -> (CheckedContinuation<HTTPResponse, Error>?, HTTPResponse)? in
            s.lastActivity = .now
            if s.headDelivered || s.outcome != nil { return nil }  // trailers, or a transfer already aborted
            if line.hasPrefix("HTTP/") {
                let parts = line.split(separator: " ", maxSplits: 2)
                s.status = parts.count > 1 ? Int(parts[1]) ?? 0 : 0
                s.headers = HTTPHeaders()
                return nil
            }
            if !line.isEmpty {
                if let colon = line.firstIndex(of: ":") {
                    let name = String(line[..<colon]).trimmingCharacters(in: .whitespaces)
                    let value = String(line[line.index(after: colon)...]).trimmingCharacters(in: .whitespaces)
                    s.headers.add(name: name, value: value)
                }
                return nil
            }
            // End of a header block: only the final block makes the response.
            let interim = (100..<200).contains(s.status) && s.status != 101
            let redirected =
                followRedirects && [301, 302, 303, 307, 308].contains(s.status) && s.headers["location"] != nil
            if interim || redirected { return nil }
            s.headDelivered = true
            let continuation = s.headContinuation
            s.headContinuation = nil
            let response = HTTPResponse(
                status: s.status, headers: s.headers, body: HTTPResponseBody(stream: BodyStream(transfer: self)))
            return (continuation, response)
        }
        if let (continuation, response) = delivery { continuation?.resume(returning: response) }
    }

    /// Write callback: returns bytes taken, 0 to abort, or `pauseValue` to pause.
    func onBody(_ bytes: UnsafeRawBufferPointer, pauseValue: Int) -> Int {
        let (taken, waiter, chunk) = state.withLock { s -> (Int, CheckedContinuation<[UInt8]?, Error>?, [UInt8]?) in
            if s.outcome != nil { return (0, nil, nil) }
            s.lastActivity = .now
            guard s.headDelivered else {
                return (bytes.count, nil, nil)  // body of an interim or redirect response
            }
            if s.bufferedBytes >= bufferLimit {
                s.paused = true
                return (pauseValue, nil, nil)  // curl keeps these bytes and hands them over again on unpause
            }
            let chunk = [UInt8](bytes)
            if let waiter = s.bodyWaiter {
                s.bodyWaiter = nil
                return (bytes.count, waiter, chunk)
            }
            s.chunks.append(chunk)
            s.bufferedBytes += chunk.count
            return (bytes.count, nil, nil)
        }
        if let waiter, let chunk { waiter.resume(returning: chunk) }
        return taken
    }

    /// Progress callback: nonzero aborts (cancelled, or idle for too long).
    func onProgress(downloaded: Int64, uploaded: Int64) -> Int32 {
        state.withLock { s in
            if s.outcome != nil { return 1 }
            let now = ContinuousClock.now
            if s.paused || downloaded != s.lastDown || uploaded != s.lastUp {
                s.lastDown = downloaded
                s.lastUp = uploaded
                s.lastActivity = now
                return 0
            }
            if let idleLimit, now - s.lastActivity > idleLimit {
                s.idleFired = true
                return 1
            }
            return 0
        }
    }

    /// Ends the transfer once; delivers a head built from `fallbackStatus` if none arrived.
    /// Returns whether this call ended it.
    @discardableResult
    func finish(_ result: Result<Void, HTTPClientError>, fallbackStatus: Int?) -> Bool {
        enum Wake {
            case head(CheckedContinuation<HTTPResponse, Error>, Result<HTTPResponse, Error>)
            case body(CheckedContinuation<[UInt8]?, Error>, Result<[UInt8]?, Error>)
            case none
        }
        let wake = state.withLock { s -> Wake? in
            guard s.outcome == nil else { return nil }
            s.outcome = result
            if !s.headDelivered, let continuation = s.headContinuation {
                s.headContinuation = nil
                switch result {
                case .success:
                    s.headDelivered = true
                    return .head(continuation, .success(
                        HTTPResponse(
                            status: fallbackStatus ?? s.status, headers: s.headers,
                            body: HTTPResponseBody(stream: BodyStream(transfer: self)))))
                case .failure(let error):
                    return .head(continuation, .failure(error))
                }
            }
            var wake = Wake.none
            if let waiter = s.bodyWaiter {
                s.bodyWaiter = nil
                switch result {
                case .success: wake = .body(waiter, .success(nil))
                case .failure(let error): wake = .body(waiter, .failure(error))
                }
            }
            // A cancelled body is dropped; after a transport failure the consumer still reads every byte that
            // arrived before the error (a reply cut off mid-stream keeps its partial text).
            if case .failure(let error) = result, error.code == .cancelled || error.code == .shutdown {
                s.chunks.removeAll()
                s.bufferedBytes = 0
            }
            return wake
        }
        switch wake {
        case nil: return false
        case .head(let continuation, let result)?: continuation.resume(with: result)
        case .body(let continuation, let result)?: continuation.resume(with: result)
        case .none?: break
        }
        return true
    }
}

internal import CCurl
import Foundation
import Logging
import Synchronization

/// Runs every transfer of one `HTTPClient` on one plain thread with `curl_multi_poll`.
///
/// Other threads only queue operations in `queue` (a mutex) and call `curl_multi_wakeup`
/// (documented thread-safe); the multi handle and every easy handle in it are used
/// only on the driver thread.
///
/// `@unchecked Sendable`: `pending`, `stopping` and `nextID` live in the `queue` mutex;
/// `active` is touched only on the driver thread; `multi` is immutable and lives until
/// the driver is freed, which happens after the thread has exited.
final class CurlDriver: @unchecked Sendable {
    private enum Operation {
        case add(CurlEasy, Transfer)
        case unpause(Transfer)
        case remove(Transfer)
    }

    private let multi: CurlMulti
    private let logger: Logger
    private struct Queue {
        var pending: [Operation] = []
        var stopping = false
        var nextID: UInt64 = 0
    }
    private let queue = Mutex(Queue())
    private var active: [UnsafeMutableRawPointer: (easy: CurlEasy, transfer: Transfer)] = [:]

    init(logger: Logger) throws {
        multi = try CurlMulti()
        self.logger = logger
    }

    /// Starts the driver thread; it keeps the driver alive until `shutdown` is processed.
    func start() {
        let thread = Thread { [self] in run() }
        thread.name = "pb-http-driver"
        thread.start()
    }

    func makeRequestID() -> UInt64 {
        queue.withLock { q in
            q.nextID += 1
            return q.nextID
        }
    }

    /// Queues a new transfer; false if the client was shut down.
    func submit(_ easy: CurlEasy, _ transfer: Transfer) -> Bool {
        enqueue(.add(easy, transfer))
    }

    func requestUnpause(_ transfer: Transfer) { enqueue(.unpause(transfer)) }

    func requestRemove(_ transfer: Transfer) { enqueue(.remove(transfer)) }

    /// Stops the thread; active transfers fail with `.shutdown`. Idempotent.
    func shutdown() {
        queue.withLock { $0.stopping = true }
        curl_multi_wakeup(multi.handle)
    }

    var isShutDown: Bool { queue.withLock { $0.stopping } }

    @discardableResult
    private func enqueue(_ operation: Operation) -> Bool {
        let accepted = queue.withLock { q in
            if q.stopping { return false }
            q.pending.append(operation)
            return true
        }
        if accepted { curl_multi_wakeup(multi.handle) }
        return accepted
    }

    // MARK: driver thread

    private func run() {
        while true {
            let (operations, stop) = queue.withLock { q in
                defer { q.pending.removeAll() }
                return (q.pending, q.stopping)
            }
            if stop {
                tearDown(unstarted: operations)
                return
            }
            for operation in operations { apply(operation) }

            var running: Int32 = 0
            curl_multi_perform(multi.handle, &running)
            collectFinished()
            var ready: Int32 = 0
            curl_multi_poll(multi.handle, nil, 0, 1000, &ready)
        }
    }

    private func apply(_ operation: Operation) {
        switch operation {
        case .add(let easy, let transfer):
            // Cancelled between handing over its continuation and being queued: its remove came first and found
            // nothing, so adding it now would start a transfer nobody reads.
            if transfer.hasFinished { return }
            let code = curl_multi_add_handle(multi.handle, easy.handle)
            if code == CURLM_OK {
                active[easy.handle] = (easy, transfer)
            } else {
                transfer.finish(
                    .failure(
                        HTTPClientError(
                            code: .transport,
                            message: "curl_multi_add_handle failed: \(String(cString: curl_multi_strerror(code)))",
                            url: transfer.url)),
                    fallbackStatus: nil)
            }
        case .unpause(let transfer):
            guard let entry = active[transfer.handleKey] else { return }
            transfer.markResumed()
            curl_easy_pause(entry.easy.handle, pb_curl_pause_cont())
        case .remove(let transfer):
            guard let entry = active.removeValue(forKey: transfer.handleKey) else { return }
            curl_multi_remove_handle(multi.handle, entry.easy.handle)
            logger.trace(
                "HTTP transfer aborted",
                metadata: ["request-id": "\(transfer.id)", "method": "\(transfer.method)", "url": "\(transfer.url)"])
        }
    }

    private func collectFinished() {
        var done: [(UnsafeMutableRawPointer, CURLcode)] = []
        var left: Int32 = 0
        while let message = curl_multi_info_read(multi.handle, &left) {
            if message.pointee.msg == CURLMSG_DONE, let easy = message.pointee.easy_handle {
                done.append((easy, message.pointee.data.result))
            }
        }
        for (key, code) in done {
            guard let entry = active.removeValue(forKey: key) else { continue }
            let status = entry.easy.info(long: CURLINFO_RESPONSE_CODE)
            let result: Result<Void, HTTPClientError> =
                code == CURLE_OK ? .success(()) : .failure(error(for: code, entry.easy, entry.transfer))
            curl_multi_remove_handle(multi.handle, entry.easy.handle)
            entry.transfer.finish(result, fallbackStatus: status)
            logger.trace(
                "HTTP transfer finished",
                metadata: [
                    "request-id": "\(entry.transfer.id)", "method": "\(entry.transfer.method)",
                    "url": "\(entry.transfer.url)", "status": "\(status)",
                ])
        }
    }

    private func tearDown(unstarted: [Operation]) {
        let error = { (url: String) in
            HTTPClientError(code: .shutdown, message: "the HTTP client was shut down", url: url)
        }
        for operation in unstarted {
            if case .add(_, let transfer) = operation { transfer.finish(.failure(error(transfer.url)), fallbackStatus: nil) }
        }
        for (_, entry) in active {
            curl_multi_remove_handle(multi.handle, entry.easy.handle)
            entry.transfer.finish(.failure(error(entry.transfer.url)), fallbackStatus: nil)
        }
        active.removeAll()
    }

    /// Maps a curl failure to a typed error.
    private func error(for code: CURLcode, _ easy: CurlEasy, _ transfer: Transfer) -> HTTPClientError {
        let detail = easy.errorMessage
        let message = detail.isEmpty ? String(cString: curl_easy_strerror(code)) : detail
        let typed: HTTPClientError.Code
        switch code {
        case CURLE_OPERATION_TIMEDOUT:
            let connected = easy.info(offset: CURLINFO_CONNECT_TIME_T) > 0
            let handshaken =
                !transfer.url.lowercased().hasPrefix("https:") || easy.info(offset: CURLINFO_APPCONNECT_TIME_T) > 0
            if detail.contains("too slow") {
                typed = .idleTimeout
            } else if !connected || !handshaken {
                typed = .connectTimeout
            } else {
                typed = .totalTimeout
            }
        case CURLE_ABORTED_BY_CALLBACK:
            typed = transfer.idleTimedOut ? .idleTimeout : .cancelled
        case CURLE_WRITE_ERROR:
            typed = .cancelled
        case CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY, CURLE_COULDNT_CONNECT:
            typed = .connectFailed
        case CURLE_URL_MALFORMAT, CURLE_UNSUPPORTED_PROTOCOL:
            typed = .invalidURL
        case CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CERTPROBLEM, CURLE_SSL_CIPHER,
            CURLE_SSL_CACERT_BADFILE, CURLE_SSL_ENGINE_NOTFOUND, CURLE_SSL_ENGINE_SETFAILED, CURLE_SSL_CRL_BADFILE,
            CURLE_SSL_ISSUER_ERROR, CURLE_SSL_PINNEDPUBKEYNOTMATCH, CURLE_SSL_INVALIDCERTSTATUS, CURLE_SSL_CLIENTCERT:
            typed = .tlsFailure
        default:
            typed = .transport
        }
        let finalMessage = typed == .idleTimeout && transfer.idleTimedOut
            ? "no bytes for longer than the idle timeout of \(transfer.idleLimit.map { "\($0)" } ?? "?")" : message
        return HTTPClientError(code: typed, message: finalMessage, url: transfer.url, curlCode: Int(code.rawValue))
    }
}

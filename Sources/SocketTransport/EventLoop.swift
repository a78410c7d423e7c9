internal import CWebSockets
import Foundation
import Logging
import Synchronization

/// The process-wide libwebsockets context and its single service thread.
///
/// lws 4.1.6 breaks with several contexts (cancel races, flaky TLS ex-data), so every websocket,
/// line socket and future lws server shares this one loop.
public final class EventLoop: Sendable {
    /// The one loop of the process, created on first use.
    public static let shared = EventLoop()

    let core: LoopCore

    private init() {
        core = LoopCore()
        core.start()
    }

    deinit { core.stop() }

    /// The libwebsockets version as major * 1_000_000 + minor * 1_000 + patch.
    public static var libraryVersion: Int { Int(pb_lws_version_number()) }

    /// Hands a connection to the service thread: it starts, writes or closes there.
    func schedule(_ connection: LWSConnection) { core.schedule(connection) }

    /// Runs a job on the service thread; `false` when the loop could not be created.
    func perform(_ job: @escaping @Sendable (LoopCore) -> Void) -> Bool { core.perform(job) }
}

/// Everything the service thread and the C callback touch. The context's user pointer refers to this
/// object (unretained): the service thread holds it strongly until after `lws_context_destroy`.
final class LoopCore: @unchecked Sendable {
    // Safe to share: `queue` is a mutex; every other var is touched only on the service thread (or in
    // init/deinit, when no service thread runs).
    /// Work handed over from other threads, and whether the loop is stopping.
    private struct Queue {
        var pending: [LWSConnection] = []
        var jobs: [@Sendable (LoopCore) -> Void] = []
        var stopping = false
    }
    private let queue = Mutex(Queue())
    private let stopped = DispatchSemaphore(value: 0)
    private var started = false

    fileprivate(set) var context: OpaquePointer?
    private var vhosts: [String: OpaquePointer] = [:]
    private var vhostNames: [UnsafeMutablePointer<CChar>] = []
    private let protocols: UnsafeMutablePointer<lws_protocols>
    private let protocolName: UnsafeMutablePointer<CChar>
    /// Reused write buffer with `LWS_PRE` bytes of headroom (service thread only).
    private(set) var writeBuffer: UnsafeMutablePointer<UInt8>
    static let writeChunk = 32 * 1024
    let pre = Int(pb_lws_pre())
    static let logger = Logger(label: "persona-bridge.lws")

    init() {
        protocolName = strdup("pb-socket")
        protocols = .allocate(capacity: 2)
        protocols.initialize(
            to: lws_protocols(
                name: UnsafePointer(protocolName), callback: pbLWSCallback, per_session_data_size: 0,
                rx_buffer_size: 64 * 1024, id: 0, user: nil, tx_packet_size: 0))
        (protocols + 1).initialize(to: lws_protocols())
        writeBuffer = .allocate(capacity: Int(pb_lws_pre()) + Self.writeChunk)
        lws_set_log_level(Int32(LLL_ERR), pbLWSLog)
        var info = lws_context_creation_info()
        pb_lws_fill_context_info(&info, Unmanaged.passUnretained(self).toOpaque())
        context = lws_create_context(&info)
        if context == nil { Self.logger.error("lws_create_context failed; sockets will fail to connect") }
        // EVENT_WAIT_CANCELLED reaches protocols through vhosts, so one must exist before the first schedule.
        if context != nil, vhost(caFile: nil) == nil {
            Self.logger.error("could not create the default client vhost")
        }
    }

    func start() {
        guard context != nil else { return }
        started = true
        let thread = Thread { [self] in self.run() }
        thread.name = "lws-service"
        thread.start()
    }

    private func run() {
        while true {
            if queue.withLock({ $0.stopping }) { break }
            lws_service(context, 0)
        }
        lws_context_destroy(context)
        context = nil
        stopped.signal()
    }

    func stop() {
        queue.withLock { $0.stopping = true }
        guard started, let context else { return }
        lws_cancel_service(context)
        stopped.wait()
    }

    deinit {
        if let context { lws_context_destroy(context) }
        vhostNames.forEach { free($0) }
        protocols.deinitialize(count: 2)
        protocols.deallocate()
        free(protocolName)
        writeBuffer.deallocate()
    }

    func schedule(_ connection: LWSConnection) {
        queue.withLock { $0.pending.append(connection) }
        guard let context else {
            connection.loopUnavailable()
            return
        }
        lws_cancel_service(context)
    }

    /// Runs `job` on the service thread (servers create and destroy their vhosts there); `false` without a loop.
    func perform(_ job: @escaping @Sendable (LoopCore) -> Void) -> Bool {
        guard let context else { return false }
        queue.withLock { $0.jobs.append(job) }
        lws_cancel_service(context)
        return true
    }

    /// Service thread: applies queued work. Called for each vhost on EVENT_WAIT_CANCELLED.
    func drain() {
        let (work, queuedJobs) = queue.withLock { q in
            defer {
                q.pending.removeAll(keepingCapacity: true)
                q.jobs.removeAll(keepingCapacity: true)
            }
            return (q.pending, q.jobs)
        }
        for job in queuedJobs { job(self) }
        for connection in work { connection.service(on: self) }
    }

    /// Service thread: the client vhost for a CA file (nil: system trust store), created on first use.
    func vhost(caFile: String?) -> OpaquePointer? {
        let key = caFile ?? ""
        if let existing = vhosts[key] { return existing }
        let name = strdup("pb-client-\(vhosts.count)")!
        vhostNames.append(name)
        var info = lws_context_creation_info()
        let vhost: OpaquePointer? = caFile.withOptionalCString { ca in
            pb_lws_fill_client_vhost_info(&info, name, protocols, ca, nil)
            return lws_create_vhost(context, &info)
        }
        if let vhost { vhosts[key] = vhost }
        return vhost
    }
}

extension Optional where Wrapped == String {
    func withOptionalCString<R>(_ body: (UnsafePointer<CChar>?) -> R) -> R {
        switch self {
        case .some(let string): return string.withCString { body($0) }
        case .none: return body(nil)
        }
    }
}

/// Routes lws's own log lines (errors only) into swift-log.
private let pbLWSLog: @convention(c) (Int32, UnsafePointer<CChar>?) -> Void = { level, line in
    guard let line else { return }
    let text = String(cString: line).trimmingCharacters(in: .whitespacesAndNewlines)
    LoopCore.logger.error("\(text)", metadata: ["lws-level": "\(level)"])
}

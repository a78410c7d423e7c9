#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// Error raised when a test server cannot be found, started or reached.
public struct TestServerError: Error, CustomStringConvertible {
    /// What went wrong, written for the person reading the test log.
    public let description: String
    /// Creates an error with a message.
    public init(_ description: String) { self.description = description }
}

/// Paths inside the repository, found from this file's location.
public enum RepoPaths {
    /// The repository root.
    public static let root: URL = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url
    }()
    /// `Tests/Servers`, where the loopback test servers live.
    public static var servers: URL { root.appendingPathComponent("Tests/Servers") }
    /// `Bots/`, the shipped personas and demo config.
    public static var bots: URL { root.appendingPathComponent("Bots") }

    /// An executable product (e.g. `persona-bridge`) built next to the running test bundle
    /// (`swift build --build-tests` builds it); the expected path if it is missing.
    public static func builtExecutable(_ name: String) -> String {
        let bundleDir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for dir in [bundleDir, bundleDir.deletingLastPathComponent()] {
            let candidate = dir.appendingPathComponent(name).path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return bundleDir.appendingPathComponent(name).path
    }
}

/// Finds an executable on PATH, or returns nil.
public func findExecutable(_ name: String) -> String? {
    if name.contains("/") { return FileManager.default.isExecutableFile(atPath: name) ? name : nil }
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"
    for dir in path.split(separator: ":") {
        let candidate = "\(dir)/\(name)"
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
    }
    for dir in ["/usr/sbin", "/sbin"] where FileManager.default.isExecutableFile(atPath: "\(dir)/\(name)") {
        return "\(dir)/\(name)"
    }
    return nil
}

/// A loopback TCP port that nothing listens on right now, outside the kernel's ephemeral range.
///
/// Only a candidate: the probe socket is closed before anyone binds the port, so another process can take
/// it. Use it for "nothing listens here" checks, or for a server that cannot bind port 0 itself, started
/// through `retryingOnBindError` (which writes the config again with a new port when the bind fails).
/// Servers that can bind port 0 (the Python fakes) report the port they got instead.
public func freeLoopbackPort() throws -> Int {
    let (low, high) = ephemeralPortRange()
    // Prefer ports below the ephemeral range; fall back to above it, then to a kernel-assigned one.
    let candidates = low > 10_000 ? Array(10_000..<low) : Array((high + 1)...65_535)
    for _ in 0..<200 {
        if let port = candidates.randomElement(), try canBind(port: port) { return port }
    }
    return try kernelAssignedPort()
}

/// The kernel's ephemeral port range, or Linux's default.
func ephemeralPortRange() -> (Int, Int) {
    guard let text = try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8) else {
        return (32_768, 60_999)
    }
    let parts = text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).compactMap { Int($0) }
    return parts.count == 2 ? (parts[0], parts[1]) : (32_768, 60_999)
}

/// Whether 127.0.0.1:`port` can be bound right now.
func canBind(port: Int) throws -> Bool {
    try withLoopbackSocket(port: port) { fd, address in bind(fd, address, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
}

/// A port the kernel picks (inside the ephemeral range: the last resort).
func kernelAssignedPort() throws -> Int {
    try withLoopbackSocket(port: 0) { fd, address in
        guard bind(fd, address, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 else {
            throw TestServerError("bind() failed: errno \(errno)")
        }
        var bound = sockaddr_in()
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &bound) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        guard named == 0 else { throw TestServerError("getsockname() failed: errno \(errno)") }
        return Int(UInt16(bigEndian: bound.sin_port))
    }
}

/// A loopback port that refuses connections for as long as this value lives: a socket bound to 127.0.0.1:0 that
/// never listens. Unlike a probed "free" port, no other process can bind it meanwhile, so a "nothing listens
/// here" check cannot meet a server another test just started there.
public final class RefusingPort: Sendable {
    /// The bound port; a connect to it is refused.
    public let port: Int
    private let fd: Int32

    /// Binds the socket (port chosen by the kernel).
    public init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestServerError("socket() failed: errno \(errno)") }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        var name = sockaddr_in()
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &name) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        guard bound == 0, named == 0 else {
            close(fd)
            throw TestServerError("binding a refusing port failed: errno \(errno)")
        }
        self.fd = fd
        port = Int(UInt16(bigEndian: name.sin_port))
    }

    deinit { close(fd) }
}

/// Runs `body` with a fresh TCP socket and the address 127.0.0.1:`port`; closes the socket after.
func withLoopbackSocket<T>(port: Int, _ body: (Int32, UnsafePointer<sockaddr>) throws -> T) throws -> T {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw TestServerError("socket() failed: errno \(errno)") }
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = UInt16(port).bigEndian
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    return try withUnsafePointer(to: &addr) {
        try $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { try body(fd, $0) }
    }
}

/// Adds "close every descriptor from 3 up" to `actions`: glibc's `posix_spawn_file_actions_addclosefrom_np`
/// (2.34+, looked up at run time because the Swift Glibc module does not import GNU extensions), else a close for
/// each descriptor open now.
func closeInheritedDescriptors(_ actions: inout posix_spawn_file_actions_t) {
    typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    if let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np") {
        let closeFrom = unsafeBitCast(symbol, to: CloseFrom.self)
        if closeFrom(&actions, 3) == 0 { return }
    }
    let open = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
    for fd in open.compactMap(Int32.init) where fd > 2 { posix_spawn_file_actions_addclose(&actions, fd) }
}

/// A child process started for a test (a Python fake, ngIRCd, Synapse, ...).
///
/// Spawned with `posix_spawn` and an empty signal mask, because Foundation's `Process`
/// started from a concurrency thread can hand the child a mask with SIGTERM blocked.
/// Stopped with SIGKILL, always; `deinit` makes sure a failing test leaves no orphan, and the child's parent-death
/// signal (SIGKILL, from `ChildSpawner`'s thread) that a killed test process leaves none either.
public final class TestServer: @unchecked Sendable {
    // Safe to share: `pid` is written once in init; `lock` guards `stopped` and the output buffer.
    /// The child's process ID.
    public let pid: pid_t
    /// The command line, for error messages.
    public let commandLine: String
    private let lock = NSLock()
    private var stopped = false
    private var outputBuffer = Data()
    private let outputFD: Int32
    private let readerThread: Thread?

    /// Starts `executable` with `arguments`; stdout and stderr are captured into `output`.
    /// - Parameters:
    ///   - missingHint: what to tell the user if the executable is not installed.
    ///   - killedWithTestProcess: whether the child gets SIGKILL once the test process is gone; off only for a
    ///     child that watches for that itself and must clean up first (`guarded`).
    public init(
        executable: String, arguments: [String], environment: [String: String]? = nil,
        missingHint: String? = nil, killedWithTestProcess: Bool = true
    ) throws {
        guard let path = findExecutable(executable) else { throw Self.notInstalled(executable, hint: missingHint) }
        commandLine = ([path] + arguments).joined(separator: " ")
        var pipeFDs: [Int32] = [0, 0]
        guard pipe(&pipeFDs) == 0 else { throw TestServerError("pipe() failed: errno \(errno)") }
        var env = environment ?? ProcessInfo.processInfo.environment
        env["PYTHONUNBUFFERED"] = "1"
        // SIGKILL to the child once this test process is gone, however it ends (a CI timeout, Ctrl-C on
        // `swift test`, whose SIGINT never reaches the child's own process group): `deinit` cannot run then, and the
        // children ran on for good. `setpriv` sets the parent-death signal and execs the command in the same
        // process, so `pid` and the exit status are the command's. Without `setpriv` the child runs unguarded.
        let setpriv = killedWithTestProcess ? findExecutable("setpriv") : nil
        let command = setpriv.map { [$0, "--pdeathsig", "KILL", "--", path] } ?? [path]
        let (rc, child) = ChildSpawner.shared.run {
            Self.spawn(command + arguments, environment: env, output: pipeFDs[1], parentEnd: pipeFDs[0])
        }
        close(pipeFDs[1])
        guard rc == 0 else {
            close(pipeFDs[0])
            throw TestServerError("could not start \(commandLine): posix_spawn error \(rc)")
        }
        pid = child
        outputFD = pipeFDs[0]
        let fd = pipeFDs[0]
        // A plain thread drains the pipe so the child never blocks on a full pipe and the
        // cooperative pool is never blocked by a read.
        let box = WeakBox()
        let thread = Thread {
            var buffer = [UInt8](repeating: 0, count: 65536)
            while true {
                let n = read(fd, &buffer, buffer.count)
                if n <= 0 { break }
                box.server?.append(buffer[0..<n])
            }
            box.server?.markOutputClosed()
            close(fd)
        }
        readerThread = thread
        box.server = self
        thread.start()
    }

    /// Starts `command` under `Tests/Servers/guarded.py`, for a server that would outlive a killed test process
    /// otherwise: one that drops root (which clears the parent-death signal `init` gives a child) or forks. Once the
    /// test process is gone the wrapper stops the server (SIGQUIT to the PID in `pidfile`, if given), kills its
    /// process group and removes `cleanup`.
    /// - Parameter missingHint: what to tell the user if `command`'s executable is not installed.
    public static func guarded(_ command: [String], cleanup: String, pidfile: String? = nil,
                               missingHint: String? = nil) throws -> TestServer {
        guard let executable = command.first, findExecutable(executable) != nil else {
            throw notInstalled(command.first ?? "(none)", hint: missingHint)
        }
        let script = RepoPaths.servers.appendingPathComponent("guarded.py").path
        return try TestServer(
            executable: findExecutable("python3") ?? "python3",
            arguments: [script, "--cleanup", cleanup] + (pidfile.map { ["--pidfile", $0] } ?? []) + ["--"] + command,
            missingHint: "python3 runs Tests/Servers/guarded.py; run .ci/run or Deploy/scripts/setup.sh --test.",
            // Killed at once, the wrapper could not take the server down with it.
            killedWithTestProcess: false)
    }

    /// The error for a test server that is not installed, with what to do about it.
    private static func notInstalled(_ executable: String, hint: String?) -> TestServerError {
        TestServerError("required test server '\(executable)' is not installed. "
            + (hint ?? "Run .ci/run or Deploy/scripts/test.sh, which install every test server."))
    }

    /// Starts `argv` with stdin from /dev/null, stdout and stderr to `output`, no other inherited descriptor, an
    /// empty signal mask and default dispositions, in a process group of its own; returns posix_spawn's result and
    /// the child's pid.
    private static func spawn(_ argv: [String], environment: [String: String], output: Int32, parentEnd: Int32) -> (Int32, pid_t) {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, output, 1)
        posix_spawn_file_actions_adddup2(&actions, output, 2)
        posix_spawn_file_actions_addclose(&actions, parentEnd)
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        // The child gets standard input, output and error only. Without this it inherits every descriptor the test
        // process has open without close-on-exec, and libcurl opens its sockets without it: a server started by one
        // suite kept another suite's cancelled HTTP transfers open (the socket closed in this process, its copy in
        // the child did not), and held other servers' output pipes open past their exit.
        closeInheritedDescriptors(&actions)
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        posix_spawnattr_setsigmask(&attr, &emptyMask)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for sig in [SIGTERM, SIGINT, SIGPIPE, SIGHUP] { sigaddset(&defaults, sig) }
        posix_spawnattr_setsigdefault(&attr, &defaults)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP))
        posix_spawnattr_setpgroup(&attr, 0)
        let cArgv = argv.map { strdup($0) } + [nil]
        let cEnv = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            cArgv.forEach { free($0) }
            cEnv.forEach { free($0) }
        }
        var child: pid_t = 0
        let rc = posix_spawn(&child, argv[0], &actions, &attr, cArgv, cEnv)
        return (rc, child)
    }

    private final class WeakBox: @unchecked Sendable {
        // Written once before the reader thread starts, read only by that thread.
        weak var server: TestServer?
    }

    private var outputClosed = false

    private func markOutputClosed() {
        lock.lock()
        outputClosed = true
        lock.unlock()
    }

    private var isOutputClosed: Bool {
        lock.lock()
        defer { lock.unlock() }
        return outputClosed
    }

    private func append(_ bytes: ArraySlice<UInt8>) {
        lock.lock()
        outputBuffer.append(contentsOf: bytes)
        lock.unlock()
    }

    /// Waits for the child to exit and for its output pipe to be drained to the end (unlike
    /// `waitForExit`, without giving up after 2 s), then returns the exit code (128+N for signal N)
    /// and the complete output.
    public func waitForCompleteOutput(timeout: Duration = .seconds(30)) async throws -> (status: Int32, output: String) {
        let status = try await waitForExit(timeout: timeout)
        try await eventually("the end of \(commandLine)'s output (it has exited)", timeout: timeout) { isOutputClosed }
        return (status, output)
    }

    /// Everything the child wrote to stdout and stderr so far.
    public var output: String {
        lock.lock()
        defer { lock.unlock() }
        return String(decoding: outputBuffer, as: UTF8.self)
    }

    private var exitStatus: Int32?

    /// Whether the child is still running.
    public var isRunning: Bool {
        lock.lock()
        defer { lock.unlock() }
        if exitStatus != nil || stopped { return false }
        var status: Int32 = 0
        if waitpid(pid, &status, WNOHANG) == pid {
            exitStatus = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
            return false
        }
        return true
    }

    /// Waits for the child to exit by itself and returns its exit code (128+N for signal N).
    public func waitForExit(timeout: Duration = .seconds(30)) async throws -> Int32 {
        try await eventually("\(commandLine) to exit", timeout: timeout, detail: { "Output:\n\(self.output)" }) { !isRunning }
        guard let status = recordedExitStatus() else {
            throw TestServerError("\(commandLine) was stopped, not exited")
        }
        // The child has exited, but the reader may not have drained its last output yet. A grandchild
        // can hold the pipe open, so wait a bounded time (and go on without the rest after it).
        do {
            try await eventually("the end of the output", timeout: .seconds(2)) { isOutputClosed }
        } catch is TestServerError {}
        return status
    }

    private func recordedExitStatus() -> Int32? {
        lock.lock()
        defer { lock.unlock() }
        return exitStatus
    }

    /// Waits (without blocking the cooperative pool for long) until `output` contains `marker`.
    /// Fails with the child's output if it exits first or the deadline passes.
    @discardableResult
    public func waitForOutput(_ marker: String, timeout: Duration = .seconds(30)) async throws -> String {
        let (text, printed) = try await eventuallyValue("\(commandLine) to print '\(marker)'", timeout: timeout,
                                                        detail: { "Output:\n\(self.output)" }) { () -> (String, Bool)? in
            let text = output
            if text.contains(marker) { return (text, true) }
            return isRunning ? nil : (text, false)
        }
        guard printed else { throw TestServerError("\(commandLine) exited before printing '\(marker)'. Output:\n\(text)") }
        return text
    }

    /// Waits until a TCP connect to 127.0.0.1:`port` succeeds.
    public func waitForPort(_ port: Int, timeout: Duration = .seconds(30)) async throws {
        let listening = try await eventuallyValue("\(commandLine) to listen on \(port)", timeout: timeout,
                                                  detail: { "Output:\n\(self.output)" }) { () -> Bool? in
            if canConnect(port: port) { return true }
            return isRunning ? nil : false
        }
        guard listening else { throw TestServerError("\(commandLine) exited before listening on \(port). Output:\n\(output)") }
    }

    /// Kills the child (and its process group) with SIGKILL and reaps it.
    public func stop() {
        lock.lock()
        let already = stopped
        stopped = true
        lock.unlock()
        if already { return }
        lock.lock()
        let reaped = exitStatus != nil
        lock.unlock()
        if reaped { return }
        kill(-pid, SIGKILL)
        kill(pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
    }

    deinit { stop() }
}

/// Whether something accepts TCP connections on 127.0.0.1:`port`.
public func canConnect(port: Int) -> Bool {
    (try? withLoopbackSocket(port: port) { fd, address in
        connect(fd, address, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
    }) ?? false
}

/// Raised by a `retryingOnBindError` attempt whose server could not bind a chosen port.
public struct PortInUseError: Error, CustomStringConvertible {
    /// The server's output, for the error if every attempt fails.
    public let output: String
    /// Creates the error with the server's output.
    public init(output: String) { self.output = output }
    /// The output, prefixed.
    public var description: String { "port in use:\n\(output)" }
}

/// Starts a server that cannot bind port 0 and report the port it got (ngIRCd, InspIRCd, Synapse): `attempt`
/// chooses candidate ports, writes the server's config and starts it, and throws `PortInUseError` when the
/// server reports a bind error; the next attempt writes the config again with new ports.
public func retryingOnBindError<T>(attempts: Int = 10, _ attempt: (_ number: Int) async throws -> T) async throws -> T {
    var number = 0
    while true {
        number += 1
        do {
            return try await attempt(number)
        } catch let error as PortInUseError {
            if number >= attempts { throw TestServerError("no free port after \(attempts) attempts; last: \(error)") }
            // Backoff between attempts (not a wait for an event): a port taken by a server that is being restarted
            // on it frees up shortly.
            try await Task.sleep(for: .milliseconds(50 * number))
        }
    }
}

/// Starts one of the Python servers in `Tests/Servers` and waits for its `READY` line.
///
/// Each server script takes `--port N` and prints `READY` once it listens. Without `port`, the server binds
/// port 0 and writes the port the kernel gave it to a `--port-file` before READY: no other process can take
/// the port between choosing and binding it. With `port` (a restart on the same port), a bind error fails.
public func startPythonServer(
    _ script: String, arguments: [String] = [], port: Int? = nil, readyMarker: String = "READY"
) async throws -> (server: TestServer, port: Int) {
    let python = findExecutable("python3") ?? "python3"
    let portFile = FileManager.default.temporaryDirectory.appendingPathComponent("pb-port-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: portFile) }
    let portArguments = port.map { ["--port", String($0)] } ?? ["--port", "0", "--port-file", portFile.path]
    let server = try TestServer(
        executable: python,
        arguments: [RepoPaths.servers.appendingPathComponent(script).path] + portArguments + arguments,
        missingHint: "python3 is needed for the loopback test servers; run .ci/run.")
    do {
        try await server.waitForOutput(readyMarker)
    } catch {
        server.stop()
        throw error
    }
    if let port { return (server, port) }
    guard let text = try? String(contentsOf: portFile, encoding: .utf8),
        let bound = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)), bound > 0
    else {
        server.stop()
        throw TestServerError("\(script) printed \(readyMarker) but wrote no port to its --port-file. Output:\n\(server.output)")
    }
    return (server, bound)
}

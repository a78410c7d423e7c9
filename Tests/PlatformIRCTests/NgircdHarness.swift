import Foundation
import Logging
import PBTestSupport
import SocketTransport
import Synchronization
import Testing

/// A real ngIRCd on a free loopback port, configured in a temp dir.
///
/// ngIRCd cannot bind port 0 and report it, so its ports are candidates written into its config; when it
/// logs a bind error, the config is written again with new ports and it is started again.
struct Ngircd {
    let server: TestServer
    let port: Int
    /// The TLS port, when started with `tls: true`.
    let tlsPort: Int?
    let directory: URL

    static func start(maxPenaltyTime: Int? = 0, port fixedPort: Int? = nil, tls: Bool = false,
                      password: String? = nil) async throws -> Ngircd {
        try await retryingOnBindError { _ in
            try await attempt(maxPenaltyTime: maxPenaltyTime, port: try fixedPort ?? freeLoopbackPort(),
                              tlsPort: tls ? try freeLoopbackPort() : nil, password: password)
        }
    }

    private static func attempt(maxPenaltyTime: Int?, port: Int, tlsPort: Int?, password: String?) async throws -> Ngircd {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pb-ngircd-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var config = """
            [Global]
            Name = irc.test
            Info = PersonaBridge test server
            Listen = 127.0.0.1
            Ports = \(port)

            """
        if let password { config += "Password = \(password)\n" }
        config += "\n[Limits]\n"
        if let maxPenaltyTime { config += "MaxPenaltyTime = \(maxPenaltyTime)\n" }
        config += """

            [Options]
            DNS = no
            Ident = no
            PAM = no

            """
        if let tlsPort {
            let certs = RepoPaths.servers.appendingPathComponent("certs")
            config += """

                [SSL]
                CertFile = \(certs.appendingPathComponent("server.pem").path)
                KeyFile = \(certs.appendingPathComponent("server.key").path)
                Ports = \(tlsPort)

                """
        }
        let path = directory.appendingPathComponent("ngircd.conf").path
        try config.write(toFile: path, atomically: true, encoding: .utf8)
        let server = try TestServer(executable: "ngircd", arguments: ["--nodaemon", "--config", path],
                                    missingHint: "install ngircd (apt-get install ngircd)")
        // ngIRCd logs every port it listens on, or "Can't bind", before "Server ... ready." (it exits if it
        // bound none, and carries on without a port it could not bind, so both cases are checked).
        do {
            try await server.waitForOutput(") ready.", timeout: .seconds(30))
        } catch {
            server.stop()
            try? FileManager.default.removeItem(at: directory)
            if server.output.contains("Can't bind") { throw PortInUseError(output: server.output) }
            throw TestServerError("ngircd did not start on \(port): \(error)")
        }
        if server.output.contains("Can't bind") {
            server.stop()
            try? FileManager.default.removeItem(at: directory)
            throw PortInUseError(output: server.output)
        }
        return Ngircd(server: server, port: port, tlsPort: tlsPort, directory: directory)
    }

    func stop() {
        server.stop()
        try? FileManager.default.removeItem(at: directory)
    }
}

/// A human IRC client written directly on `LineSocket`; it records every line and answers PING.
final class Human: Sendable {
    let nick: String
    let socket: LineSocket
    private let received = Mutex<[String]>([])
    private let reader = Mutex<Task<Void, Never>?>(nil)

    private init(nick: String, socket: LineSocket) {
        self.nick = nick
        self.socket = socket
    }

    /// Connects and registers; `capabilities` are requested with `CAP REQ` (server-time, message-tags, …).
    static func connect(port: Int, nick: String, capabilities: [String] = []) async throws -> Human {
        let socket = try await LineSocket.connect(host: "127.0.0.1", port: port, logger: Logger(label: "test.human"))
        let human = Human(nick: nick, socket: socket)
        let task = Task { [human] in
            do {
                for try await bytes in socket.lines {
                    let line = String(decoding: bytes, as: UTF8.self)
                    human.received.withLock { $0.append(line) }
                    if line.hasPrefix("PING ") {
                        try? await socket.send(Array(("PONG " + line.dropFirst(5) + "\r\n").utf8))
                    }
                }
            } catch {}
        }
        human.reader.withLock { $0 = task }
        if !capabilities.isEmpty { try await human.send("CAP REQ :" + capabilities.joined(separator: " ")) }
        try await human.send("NICK \(nick)")
        try await human.send("USER \(nick) 0 * :\(nick)")
        if !capabilities.isEmpty { try await human.send("CAP END") }
        _ = try await human.waitFor("001 for \(nick)") { $0.contains(" 001 ") }
        return human
    }

    func send(_ line: String) async throws {
        try await socket.send(Array((line + "\r\n").utf8))
    }

    func join(_ channel: String) async throws {
        try await send("JOIN \(channel)")
        _ = try await waitFor("\(nick) joined \(channel)") { $0.contains(" 366 \(self.nick) \(channel) ") }
    }

    var lines: [String] { received.withLock { $0 } }

    /// Waits (polling, never blocking a thread) for a received line matching `predicate`.
    func waitFor(_ what: String, timeout: Duration = .seconds(20), _ predicate: @Sendable (String) -> Bool) async throws -> String {
        try await eventuallyValue(what, timeout: timeout, detail: { "\(self.nick) saw:\n\(self.lines.suffix(30).joined(separator: "\n"))" }) {
            lines.first(where: predicate)
        }
    }

    func close() async {
        reader.withLock { $0?.cancel() }
        await socket.close()
    }
}


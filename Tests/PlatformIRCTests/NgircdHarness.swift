import Foundation
import Logging
import PBTestSupport
import SocketTransport
import Synchronization
import Testing

/// A real ngIRCd on a free loopback port, configured in a temp dir.
struct Ngircd {
    let server: TestServer
    let port: Int
    let directory: URL

    static func start(maxPenaltyTime: Int? = 0, port fixedPort: Int? = nil, tlsPort: Int? = nil,
                      password: String? = nil) async throws -> Ngircd {
        let port = try fixedPort ?? freeLoopbackPort()
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
        do {
            try await server.waitForPort(port, timeout: .seconds(15))
            if let tlsPort { try await server.waitForPort(tlsPort, timeout: .seconds(15)) }
        } catch {
            server.stop()
            throw TestServerError("ngircd did not listen on \(port): \(error)\n\(server.output)")
        }
        return Ngircd(server: server, port: port, directory: directory)
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
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let line = lines.first(where: predicate) { return line }
            try await Task.sleep(for: .milliseconds(50))
        }
        Issue.record("timed out waiting for \(what); \(nick) saw:\n\(lines.suffix(30).joined(separator: "\n"))")
        throw TestServerError("timed out waiting for \(what)")
    }

    func close() async {
        reader.withLock { $0?.cancel() }
        await socket.close()
    }
}

/// Polls `condition` until true or the deadline.
func eventually(_ what: String, timeout: Duration = .seconds(20), _ condition: @Sendable () async -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if await condition() { return }
        try await Task.sleep(for: .milliseconds(50))
    }
    Issue.record("timed out waiting for \(what)")
    throw TestServerError("timed out waiting for \(what)")
}

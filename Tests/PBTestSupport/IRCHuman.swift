import Foundation
import Logging
import SocketTransport
import Synchronization

/// A person on IRC, written directly on `LineSocket` (no PersonaBridge code in between): it records every line
/// and answers PING.
public final class IRCHuman: Sendable {
    /// The nick it registered with.
    public let nick: String
    /// Its connection, for tests that write raw bytes.
    public let socket: LineSocket
    private let received = Mutex<[String]>([])
    private let reader = Mutex<Task<Void, Never>?>(nil)

    private init(nick: String, socket: LineSocket) {
        self.nick = nick
        self.socket = socket
    }

    /// Connects and registers; `capabilities` are requested with `CAP REQ` (server-time, message-tags, …).
    public static func connect(port: Int, nick: String, capabilities: [String] = []) async throws -> IRCHuman {
        let socket = try await LineSocket.connect(host: "127.0.0.1", port: port, logger: Logger(label: "test.human"))
        let human = IRCHuman(nick: nick, socket: socket)
        // The socket's reader for the test's lifetime: `close()` cancels it.
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

    /// Sends one line, CR LF added.
    public func send(_ line: String) async throws {
        try await socket.send(Array((line + "\r\n").utf8))
    }

    /// Joins `channel` and waits for the end of its NAMES list.
    public func join(_ channel: String) async throws {
        try await send("JOIN \(channel)")
        _ = try await waitFor("\(nick) joined \(channel)") { $0.contains(" 366 \(self.nick) \(channel) ") }
    }

    /// Every line received so far, oldest first.
    public var lines: [String] { received.withLock { $0 } }

    /// Waits (polling, never blocking a thread) for a received line matching `predicate`.
    public func waitFor(_ what: String, timeout: Duration = .seconds(20), _ predicate: @Sendable (String) -> Bool) async throws -> String {
        try await eventuallyValue(what, timeout: timeout, detail: { "\(self.nick) saw:\n\(self.lines.suffix(30).joined(separator: "\n"))" }) {
            lines.first(where: predicate)
        }
    }

    /// Stops reading and closes the connection.
    public func close() async {
        reader.withLock { $0?.cancel() }
        await socket.close()
    }
}

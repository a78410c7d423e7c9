import Logging
import SocketTransport

/// `check --online` for IRC: connect, register (SASL when configured), then QUIT, joining nothing and saying nothing.
public enum IRCConnectionCheck {
    /// What one registration showed.
    public struct Outcome: Hashable, Sendable {
        /// The nick the server gave us (an alternative when the configured one was taken).
        public var nick: String
        /// Whether SASL was configured.
        public var saslConfigured: Bool
        /// Whether SASL succeeded.
        public var saslSucceeded: Bool
        /// Capabilities the server offered.
        public var offeredCapabilities: [String]
    }

    /// Why the check failed, with the server's words.
    public struct Failure: Error, Hashable, Sendable, CustomStringConvertible {
        /// Failure kind.
        public enum Code: String, Hashable, Sendable {
            /// TCP or TLS failed.
            case connect
            /// The server refused the registration (password, ban, nick, SASL).
            case refused
            /// The server closed the connection before 001.
            case closed
            /// No 001 within the timeout.
            case timeout
        }

        /// Failure kind.
        public var code: Code
        /// Detail (server text or transport error), never a secret.
        public var message: String
        /// The numeric or command that decided it (`464`, `ERROR`, `904`), when one did.
        public var command: String?

        /// One line for the user.
        public var description: String { message }
    }

    /// Registers once with `configuration` (channels are not joined) and QUITs.
    public static func run(configuration: IRCPlatformConfiguration, timeout: Duration = .seconds(20),
                           clock: any Clock<Duration> = ContinuousClock(), logger: Logger) async throws(Failure) -> Outcome {
        let socket: LineSocket
        do {
            socket = try await LineSocket.connect(
                host: configuration.host, port: configuration.port,
                configuration: LineSocketConfiguration(useTLS: configuration.useTLS, verifyTLS: configuration.verifyTLS,
                                                       caFile: configuration.caFile),
                logger: logger)
        } catch {
            throw Failure(code: .connect, message: "cannot connect to \(configuration.host):\(configuration.port)"
                            + (configuration.useTLS ? " with TLS" : "") + ": \(error)")
        }
        let result: Result<Outcome, Failure> = await withTaskGroup(of: Result<Outcome, Failure>?.self) { group in
            group.addTask { await register(socket, configuration: configuration) }
            group.addTask {
                do { try await clock.sleep(for: timeout) } catch { return nil }
                return .failure(Failure(code: .timeout, message: "no welcome (001) from the server within \(timeout)"))
            }
            var first: Result<Outcome, Failure>?
            while first == nil, let next = await group.next() { first = next }
            group.cancelAll()
            return first ?? .failure(Failure(code: .timeout, message: "cancelled"))
        }
        if case .success = result {
            try? await socket.send(IRCMessage(command: "QUIT", params: ["persona-bridge check"]).wireBytes)
        }
        await socket.close()
        return try result.get()
    }

    private static func register(_ socket: LineSocket, configuration: IRCPlatformConfiguration) async -> Result<Outcome, Failure> {
        var registration = IRCRegistration(config: IRCRegistrationConfig(
            nick: configuration.nick, username: configuration.username, realname: configuration.realname,
            serverPassword: configuration.serverPassword, saslAccount: configuration.saslAccount,
            saslPassword: configuration.saslPassword, requireSASL: configuration.requireSASL, nickServPassword: nil,
            channels: []))
        var alternatives = configuration.alternativeNicks[...]
        var lastNumeric: IRCMessage?
        do {
            for case .send(let message) in registration.start() { try await socket.send(message.wireBytes) }
            for try await bytes in socket.lines {
                guard let message = try? IRCMessage(parsing: bytes) else { continue }
                if message.command.count == 3, message.command.allSatisfy(\.isNumber), message.command >= "400" {
                    lastNumeric = message
                }
                if ["433", "436"].contains(message.command), registration.phase != .registered, let alternative = alternatives.popFirst() {
                    try await socket.send(IRCMessage(command: "NICK", params: [alternative]).wireBytes)
                    continue
                }
                for action in registration.handle(message) {
                    switch action {
                    case .send(let reply): try await socket.send(reply.wireBytes)
                    case .registered(let nick):
                        return .success(Outcome(nick: nick, saslConfigured: configuration.saslAccount != nil,
                                                saslSucceeded: registration.saslSucceeded,
                                                offeredCapabilities: registration.offeredCapabilities.keys.sorted()))
                    case .failed(let error):
                        let numeric = lastNumeric.map { " (\($0.command) \($0.params.last ?? ""))" } ?? ""
                        return .failure(Failure(code: .refused, message: error.message + numeric,
                                                command: lastNumeric?.command ?? message.command))
                    }
                }
            }
        } catch {
            return .failure(Failure(code: .closed, message: "the connection failed during registration: \(error)"))
        }
        let numeric = lastNumeric.map { ": \($0.command) \($0.params.last ?? "")" } ?? ""
        return .failure(Failure(code: .closed, message: "the server closed the connection before welcoming us\(numeric)",
                                command: lastNumeric?.command))
    }
}

import Synchronization
import Logging
import PBTestSupport
@testable import PlatformIRC
import Testing

/// SASL PLAIN and the NickServ fallback against `Tests/Servers/irc_sasl_server.py`, a scripted line-level server
/// that enforces the flow (ngIRCd has no SASL; InspIRCd's needs a services daemon).
@Suite(.serialized) struct IRCSASLTests {
    static func start(_ extra: [String] = []) async throws -> (TestServer, Int) {
        try await startPythonServer("irc_sasl_server.py", arguments: ["--account", "aria-acct", "--password", "s3cret"] + extra)
    }

    static func configuration(port: Int, saslPassword: String?, nickServPassword: String?, requireSASL: Bool = false) -> IRCPlatformConfiguration {
        var c = botConfiguration(port: port, channels: [])
        c.saslAccount = saslPassword == nil ? nil : "aria-acct"
        c.saslPassword = saslPassword
        c.nickServPassword = nickServPassword
        c.requireSASL = requireSASL
        c.reconnectInitialDelay = .seconds(30)
        return c
    }

    static func run(_ configuration: IRCPlatformConfiguration, until server: TestServer, shows marker: String) async throws -> IRCPlatform {
        let platform = IRCPlatform(configuration: configuration, logger: Logger(label: "test.irc"))
        let task = runPlatform(platform)
        defer { task.cancel() }
        _ = try await server.waitForOutput(marker, timeout: .seconds(20))
        // The recorded event is the server's marker; a protocol violation right after it shows within one short settle.
        try await settle()
        #expect(!server.output.contains("violation"), "\(server.output)")
        #expect(!server.output.contains("s3cret"))
        return platform
    }

    @Test func saslPlainLogsInAndSkipsNickServ() async throws {
        let (server, port) = try await Self.start()
        defer { server.stop() }
        let platform = try await Self.run(Self.configuration(port: port, saslPassword: "s3cret", nickServPassword: "s3cret"),
                                          until: server, shows: "EVENT registered aria")
        #expect(server.output.contains("EVENT sasl-ok aria-acct"))
        #expect(!server.output.contains("nickserv"), "no IDENTIFY after a successful SASL login")
        #expect(platform.saslSucceeded)
        #expect(platform.isRegistered)
    }

    @Test func noSASLOfferedFallsBackToNickServIdentify() async throws {
        let (server, port) = try await Self.start(["--no-sasl"])
        defer { server.stop() }
        let platform = try await Self.run(Self.configuration(port: port, saslPassword: "s3cret", nickServPassword: "s3cret"),
                                          until: server, shows: "EVENT nickserv-ok aria")
        #expect(!server.output.contains("sasl-"))
        #expect(platform.saslSucceeded == false)
    }

    @Test func rejectedSASLContinuesAndIdentifiesOrStopsWhenRequired() async throws {
        let (server, port) = try await Self.start()
        defer { server.stop() }
        _ = try await Self.run(Self.configuration(port: port, saslPassword: "wrong", nickServPassword: "s3cret"),
                               until: server, shows: "EVENT nickserv-ok aria")
        #expect(server.output.contains("EVENT sasl-fail"))

        let (strict, strictPort) = try await Self.start()
        defer { strict.stop() }
        let platform = IRCPlatform(configuration: Self.configuration(port: strictPort, saslPassword: "wrong", nickServPassword: nil,
                                                                     requireSASL: true),
                                   logger: Logger(label: "test.irc"))
        // Required SASL that fails ends `run` with an error `run` turns into exit status 78; no reconnect loop.
        let ended = Mutex<(any Error)?>(nil)
        let task = Task {
            do { try await platform.run() } catch { ended.withLock { $0 = error } }
        }
        defer { task.cancel() }
        _ = try await strict.waitForOutput("EVENT sasl-fail", timeout: .seconds(20))
        try await eventually("the connection problem names SASL") { platform.lastConnectionProblem?.contains("saslFailed") == true }
        #expect(!strict.output.contains("EVENT registered"), "required SASL failed: no registration")
        #expect(!platform.isRegistered)
        let fatal = try await eventuallyValue("run to end on the refusal", timeout: .seconds(30)) {
            ended.withLock { $0 } as? IRCRegistrationError
        }
        #expect(fatal.code == .saslFailed && fatal.stopsForGood)
    }
}

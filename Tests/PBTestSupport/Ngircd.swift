import Foundation

/// A real ngIRCd on a free loopback port, configured in a temp dir.
///
/// ngIRCd cannot bind port 0 and report it, so its ports are candidates written into its config; when it
/// logs a bind error, the config is written again with new ports and it is started again.
public struct Ngircd: Sendable {
    /// The running `ngircd --nodaemon`.
    public let server: TestServer
    /// The plain-text port.
    public let port: Int
    /// The TLS port, when started with `tls: true`.
    public let tlsPort: Int?
    /// The temp dir holding its config, removed by `stop()`.
    public let directory: URL

    /// Starts ngIRCd; `maxPenaltyTime: 0` turns its flood penalty off, `nil` leaves ngIRCd's default.
    public static func start(maxPenaltyTime: Int? = 0, port fixedPort: Int? = nil, tls: Bool = false,
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
        // ngIRCd started as root switches to nobody, which clears the parent-death signal a test server gets: it
        // outlived killed test processes until it ran under guarded.py.
        let server = try TestServer.guarded([findExecutable("ngircd") ?? "ngircd", "--nodaemon", "--config", path],
                                            cleanup: directory.path, missingHint: "install ngircd (apt-get install ngircd)")
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

    /// Kills the server and removes its temp dir.
    public func stop() {
        server.stop()
        try? FileManager.default.removeItem(at: directory)
    }
}

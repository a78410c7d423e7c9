import Foundation
import PBTestSupport

/// A real InspIRCd 3 on a free loopback port, with IRCv3 modules, configured in a temp dir from
/// `Tests/Servers/inspircd.conf.template`.
struct Inspircd {
    let server: TestServer
    let port: Int
    let directory: URL
    /// Atheme services linked to the server (NickServ, SaslServ), when started with `services: true`.
    let services: TestServer?

    /// Starts InspIRCd; with `services`, also Atheme linked over a second loopback port, for SASL and accounts.
    ///
    /// InspIRCd cannot bind port 0 and report it, so its ports are candidates written into its config; when
    /// it reports a listener that failed to bind, the config is written again with new ports.
    static func start(services withServices: Bool = false, port fixedPort: Int? = nil) async throws -> Inspircd {
        try await retryingOnBindError { _ in
            try await attempt(services: withServices, port: try fixedPort ?? freeLoopbackPort(), linkPort: try freeLoopbackPort())
        }
    }

    private static func attempt(services withServices: Bool, port: Int, linkPort: Int) async throws -> Inspircd {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pb-inspircd-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let template = try String(contentsOf: RepoPaths.servers.appendingPathComponent("inspircd.conf.template"), encoding: .utf8)
        var config = template.replacingOccurrences(of: "{{PORT}}", with: String(port))
            .replacingOccurrences(of: "{{DIR}}", with: directory.path)
        if withServices {
            config += try String(contentsOf: RepoPaths.servers.appendingPathComponent("inspircd-services.conf.template"), encoding: .utf8)
                .replacingOccurrences(of: "{{LINKPORT}}", with: String(linkPort))
        }
        let path = directory.appendingPathComponent("inspircd.conf").path
        try config.write(toFile: path, atomically: true, encoding: .utf8)
        // --runasroot: CI containers run tests as root, which InspIRCd refuses otherwise.
        let server = try TestServer(executable: "inspircd", arguments: ["--nofork", "--runasroot", "--config=\(path)"],
                                    missingHint: "install InspIRCd 3 (apt-get install inspircd, or Deploy/scripts/setup.sh --test)")
        // InspIRCd lists listeners that failed to bind before "now running", and runs on without them.
        do {
            try await server.waitForOutput("InspIRCd is now running", timeout: .seconds(30))
            if server.output.contains("failed to bind") { throw PortInUseError(output: server.output) }
            try await server.waitForPort(port, timeout: .seconds(20))
        } catch {
            server.stop()
            let log = (try? String(contentsOf: directory.appendingPathComponent("ircd.log"), encoding: .utf8)) ?? ""
            try? FileManager.default.removeItem(at: directory)
            if error is PortInUseError { throw error }
            throw TestServerError("inspircd did not listen on \(port): \(error)\n\(server.output)\n\(log)")
        }
        guard withServices else { return Inspircd(server: server, port: port, directory: directory, services: nil) }
        let athemeConfig = try String(contentsOf: RepoPaths.servers.appendingPathComponent("atheme.conf.template"), encoding: .utf8)
            .replacingOccurrences(of: "{{LINKPORT}}", with: String(linkPort))
        let athemePath = directory.appendingPathComponent("atheme.conf").path
        try athemeConfig.write(toFile: athemePath, atomically: true, encoding: .utf8)
        let data = directory.appendingPathComponent("atheme-data")
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        let services: TestServer
        do {
            services = try TestServer(
                executable: "atheme-services",
                arguments: ["-n", "-c", athemePath, "-D", data.path, "-l", directory.appendingPathComponent("atheme.log").path,
                            "-p", directory.appendingPathComponent("atheme.pid").path],
                missingHint: "install Atheme (apt-get install atheme-services, or Deploy/scripts/setup.sh --test)")
        } catch {
            server.stop()
            throw error
        }
        do {
            _ = try await services.waitForOutput("finished synching with uplink", timeout: .seconds(30))
        } catch {
            services.stop()
            server.stop()
            throw TestServerError("atheme did not link to inspircd: \(error)\n\(services.output)")
        }
        return Inspircd(server: server, port: port, directory: directory, services: services)
    }

    func stop() {
        services?.stop()
        server.stop()
        try? FileManager.default.removeItem(at: directory)
    }
}

/// The real servers the adapter is tested against.
enum IRCServerKind: String, CaseIterable, Sendable, CustomStringConvertible {
    case ngircd, inspircd

    var description: String { rawValue }
}

/// Either real server, started on a free (or given) loopback port.
struct IRCTestServer {
    let kind: IRCServerKind
    let port: Int
    private let stopAction: @Sendable () -> Void

    /// Starts `kind`; ngIRCd with `maxPenaltyTime` (nil keeps its flood penalties), InspIRCd with fake lag on.
    static func start(_ kind: IRCServerKind, port: Int? = nil, maxPenaltyTime: Int? = 0) async throws -> IRCTestServer {
        switch kind {
        case .ngircd:
            let server = try await Ngircd.start(maxPenaltyTime: maxPenaltyTime, port: port)
            return IRCTestServer(kind: kind, port: server.port, stopAction: { server.stop() })
        case .inspircd:
            let server = try await Inspircd.start(port: port)
            return IRCTestServer(kind: kind, port: server.port, stopAction: { server.stop() })
        }
    }

    func stop() { stopAction() }
}

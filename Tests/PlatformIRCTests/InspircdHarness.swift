import Foundation
import PBTestSupport

/// A real InspIRCd 3 on a free loopback port, with IRCv3 modules, configured in a temp dir from
/// `Tests/Servers/inspircd.conf.template`.
struct Inspircd {
    let server: TestServer
    let port: Int
    let directory: URL

    static func start() async throws -> Inspircd {
        let port = try freeLoopbackPort()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pb-inspircd-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let template = try String(contentsOf: RepoPaths.servers.appendingPathComponent("inspircd.conf.template"), encoding: .utf8)
        let config = template.replacingOccurrences(of: "{{PORT}}", with: String(port))
            .replacingOccurrences(of: "{{DIR}}", with: directory.path)
        let path = directory.appendingPathComponent("inspircd.conf").path
        try config.write(toFile: path, atomically: true, encoding: .utf8)
        // --runasroot: CI containers run tests as root, which InspIRCd refuses otherwise.
        let server = try TestServer(executable: "inspircd", arguments: ["--nofork", "--runasroot", "--config=\(path)"],
                                    missingHint: "install InspIRCd 3 (apt-get install inspircd, or Deploy/scripts/setup.sh --test)")
        do {
            try await server.waitForPort(port, timeout: .seconds(20))
        } catch {
            server.stop()
            let log = (try? String(contentsOf: directory.appendingPathComponent("ircd.log"), encoding: .utf8)) ?? ""
            throw TestServerError("inspircd did not listen on \(port): \(error)\n\(server.output)\n\(log)")
        }
        return Inspircd(server: server, port: port, directory: directory)
    }

    func stop() {
        server.stop()
        try? FileManager.default.removeItem(at: directory)
    }
}

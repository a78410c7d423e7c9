#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// A private PostgreSQL server for tests: `initdb` in a temporary directory, `postgres` on a
/// free loopback port with password (SCRAM) logins, stopped and deleted afterwards.
///
/// PostgreSQL refuses to run as root, so under root (as in CI) both run as the `postgres`
/// user through `runuser`. The server is wrapped in `Tests/Servers/guarded.py`, which stops
/// it and removes its directory if the test process dies without calling `stop()`.
public final class PostgresTestServer: Sendable {
    /// The loopback TCP port.
    public let port: Int
    /// The superuser role tests log in as.
    public let user = "pbtest"
    /// That role's password (random per server).
    public let password: String
    /// The temporary directory holding the cluster, the socket and the password file.
    public let directory: String
    private let binDirectory: String
    private let process: TestServer

    private init(port: Int, password: String, directory: String, binDirectory: String, process: TestServer) {
        self.port = port
        self.password = password
        self.directory = directory
        self.binDirectory = binDirectory
        self.process = process
    }

    /// A `postgres://` URL for `database`, without the password.
    public func url(database: String, host: String = "127.0.0.1", sslmode: String = "disable") -> String {
        "postgres://\(user)@\(host):\(port)/\(database)?sslmode=\(sslmode)"
    }

    /// The server's own output so far, for failure messages.
    public var output: String { process.output }

    // MARK: Starting

    /// One server per test process, started on first use; a failure to start is reported to every caller.
    public static func shared() async throws -> PostgresTestServer {
        try await SharedServer.instance.server()
    }

    private actor SharedServer {
        static let instance = SharedServer()
        private var started: Task<PostgresTestServer, any Error>?

        func server() async throws -> PostgresTestServer {
            if let started { return try await started.value }
            let task = Task { try await PostgresTestServer.start() }
            started = task
            return try await task.value
        }
    }

    /// Starts a fresh server; call `stop()` when done (or let `shared()` own it). With `tls`, the
    /// server also accepts TLS with `Tests/Servers/certs/server.pem` (CN localhost, IP 127.0.0.1,
    /// signed by `certs/ca.pem`).
    public static func start(tls: Bool = false) async throws -> PostgresTestServer {
        let binDirectory = try findBinDirectory()
        let runAs = try serverUser()
        let password = UUID().uuidString
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pb-pg-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        do {
            let passwordFile = directory + "/password"
            try Data((password + "\n").utf8).write(to: URL(fileURLWithPath: passwordFile))
            if let runAs {
                guard chown(directory, runAs.uid, runAs.gid) == 0, chown(passwordFile, runAs.uid, runAs.gid) == 0 else {
                    throw TestServerError("cannot hand \(directory) to the postgres user: errno \(errno)")
                }
            }
            var settings: [String] = []
            if tls {
                let certificates = RepoPaths.servers.appendingPathComponent("certs")
                for name in ["server.pem", "server.key"] {
                    let target = directory + "/" + name
                    try FileManager.default.copyItem(atPath: certificates.appendingPathComponent(name).path, toPath: target)
                    chmod(target, 0o600)
                    if let runAs, chown(target, runAs.uid, runAs.gid) != 0 {
                        throw TestServerError("cannot hand \(target) to the postgres user: errno \(errno)")
                    }
                }
                settings = ["-c", "ssl=on", "-c", "ssl_cert_file=\(directory)/server.pem",
                            "-c", "ssl_key_file=\(directory)/server.key"]
            }
            chmod(directory, 0o700)
            let initdb = try TestServer(
                executable: runAs == nil ? "\(binDirectory)/initdb" : "runuser",
                arguments: (runAs == nil ? [] : ["-u", "postgres", "--", "\(binDirectory)/initdb"]) + [
                    "-D", directory + "/data", "-U", "pbtest", "--pwfile=\(passwordFile)", "-A", "scram-sha-256",
                    "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions",
                ])
            let (status, output) = try await initdb.waitForCompleteOutput(timeout: .seconds(180))
            guard status == 0 else {
                throw TestServerError("initdb failed with status \(status):\n\(output)")
            }
            var attempt = 0
            while true {
                attempt += 1
                let port = try freeLoopbackPort()
                let server = try launch(binDirectory: binDirectory, directory: directory, port: port, runAs: runAs != nil,
                                        settings: settings)
                do {
                    try await server.waitForOutput("database system is ready to accept connections", timeout: .seconds(120))
                    return PostgresTestServer(port: port, password: password, directory: directory,
                                              binDirectory: binDirectory, process: server)
                } catch {
                    server.stop()
                    if server.output.contains("could not bind") || server.output.contains("in use"), attempt < 5 { continue }
                    throw error
                }
            }
        } catch {
            try? FileManager.default.removeItem(atPath: directory)
            throw error
        }
    }

    private static func launch(
        binDirectory: String, directory: String, port: Int, runAs: Bool, settings: [String]
    ) throws -> TestServer {
        let postgres = [
            "\(binDirectory)/postgres", "-D", directory + "/data", "-p", String(port), "-k", directory,
            "-c", "listen_addresses=127.0.0.1", "-c", "max_connections=400", "-c", "shared_buffers=32MB",
            // A throwaway cluster: durability buys nothing here and costs seconds on a busy disk.
            "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
        ] + settings
        let command = runAs ? ["runuser", "-u", "postgres", "--"] + postgres : postgres
        return try TestServer.guarded(command, cleanup: directory, pidfile: directory + "/data/postmaster.pid")
    }

    /// The newest `/usr/lib/postgresql/N/bin` with `initdb` and `postgres`, or `pg_config --bindir`'s.
    static func findBinDirectory() throws -> String {
        let root = "/usr/lib/postgresql"
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? [])
            .compactMap { Int($0) }.sorted(by: >)
        for version in versions {
            let bin = "\(root)/\(version)/bin"
            if FileManager.default.isExecutableFile(atPath: bin + "/initdb"),
               FileManager.default.isExecutableFile(atPath: bin + "/postgres") {
                return bin
            }
        }
        if let initdb = findExecutable("initdb") {
            return URL(fileURLWithPath: initdb).deletingLastPathComponent().path
        }
        throw TestServerError(
            "PostgreSQL server binaries (initdb, postgres) are not installed: the PostgreSQL storage tests need them. "
                + "Install the Debian package 'postgresql' (Deploy/scripts/setup.sh --test or .ci/run do).")
    }

    /// `nil` when not root; the `postgres` user's ids under root (PostgreSQL refuses to run as root).
    static func serverUser() throws -> (uid: uid_t, gid: gid_t)? {
        guard geteuid() == 0 else { return nil }
        guard let entry = getpwnam("postgres") else {
            throw TestServerError(
                "running as root, but there is no 'postgres' user to run the test server as "
                    + "(the Debian 'postgresql' package creates it; Deploy/scripts/setup.sh --test installs it).")
        }
        guard findExecutable("runuser") != nil else {
            throw TestServerError("running as root, and 'runuser' (util-linux) is missing to start PostgreSQL as 'postgres'.")
        }
        return (entry.pointee.pw_uid, entry.pointee.pw_gid)
    }

    // MARK: Using

    /// Runs one SQL command as the superuser with `psql` and returns its unaligned, tuples-only output.
    @discardableResult
    public func execute(_ sql: String, database: String = "postgres") async throws -> String {
        var environment = ProcessInfo.processInfo.environment
        environment["PGPASSWORD"] = password
        let psql = try TestServer(
            executable: "\(binDirectory)/psql",
            arguments: ["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", String(port),
                        "-U", user, "-d", database, "-c", sql],
            environment: environment)
        let (status, output) = try await psql.waitForCompleteOutput(timeout: .seconds(120))
        guard status == 0 else {
            throw TestServerError("psql failed (\(status)) running \(sql):\n\(output)")
        }
        return output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Creates an empty database with a fresh unique name and returns the name.
    public func createDatabase(prefix: String = "pbtest") async throws -> String {
        let name = prefix + "_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(16).lowercased()
        try await execute("CREATE DATABASE \(name)")
        return name
    }

    /// Drops a database, disconnecting whoever is still on it.
    public func dropDatabase(_ name: String) async throws {
        try await execute("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
    }

    /// Runs `body` with a fresh database, dropped afterwards even when `body` throws.
    public func withDatabase(_ body: (String) async throws -> Void) async throws {
        let database = try await createDatabase()
        do {
            try await body(database)
        } catch {
            try? await dropDatabase(database)
            throw error
        }
        try await dropDatabase(database)
    }

    /// Stops the server (immediate shutdown, which frees its shared memory) and deletes its directory.
    public func stop() {
        if let text = try? String(contentsOfFile: directory + "/data/postmaster.pid", encoding: .utf8),
           let line = text.split(separator: "\n").first, let pid = pid_t(line.trimmingCharacters(in: .whitespaces)) {
            kill(pid, SIGQUIT)
            // Waits for the postmaster's exit, at most 5 s; `stop()` is synchronous (it runs from `defer`), so the
            // async polling helper cannot be used here.
            for _ in 0..<50 where kill(pid, 0) == 0 {
                usleep(100_000)
            }
        }
        process.stop()
        try? FileManager.default.removeItem(atPath: directory)
    }
}

import Foundation
import Storage

/// Where and how `PostgresStore` connects, parsed from a `postgres://` URL.
///
/// `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?sslmode=MODE&sslrootcert=PATH&host=/socket/dir]`.
/// The password may also be given separately (from an environment variable or a file), which is
/// the recommended way: `description` never contains it.
public struct PostgresStoreConfiguration: Sendable, CustomStringConvertible {
    /// TLS modes, spelled as libpq's `sslmode`.
    public enum TLSMode: String, Sendable, Hashable, CaseIterable {
        /// Plain TCP only.
        case disable
        /// TLS when the server offers it, plain otherwise (libpq's default).
        case prefer
        /// TLS always, without verifying the server certificate (libpq semantics).
        case require
        /// TLS with a certificate verified against the trust roots, host name not checked.
        case verifyCA = "verify-ca"
        /// TLS with a verified certificate for the host name.
        case verifyFull = "verify-full"
    }

    /// Host name or IP for TCP, or `nil` when `unixSocketDirectory` is used.
    public var host: String?
    /// TCP port (default 5432); also names the Unix socket file.
    public var port: Int
    /// Directory holding the server's Unix socket (`?host=/run/postgresql`), if any.
    public var unixSocketDirectory: String?
    /// Role name to log in as.
    public var username: String
    /// Password; never printed.
    public var password: String?
    /// Database name (defaults to the user name).
    public var database: String
    /// TLS mode.
    public var tlsMode: TLSMode
    /// PEM file of trusted CA certificates (`sslrootcert`), for the verifying modes.
    public var rootCertificatePath: String?
    /// How long one connection attempt may take.
    public var connectTimeout: Duration
    /// Upper bound on pooled connections per process.
    public var maximumConnections: Int

    /// Parses a `postgres://` or `postgresql://` URL; a `password` given here replaces one in the URL.
    /// Throws `StorageError` with code `.invalidArgument`; the message never contains the password.
    public init(url: String, password: String? = nil) throws {
        guard let components = URLComponents(string: url),
              let scheme = components.scheme?.lowercased(), scheme == "postgres" || scheme == "postgresql"
        else {
            throw StorageError(code: .invalidArgument,
                               message: "not a postgres:// URL (write postgres://USER@HOST:PORT/DATABASE)")
        }
        var query: [String: String] = [:]
        for item in components.queryItems ?? [] { query[item.name] = item.value ?? "" }
        let knownKeys: Set = ["sslmode", "sslrootcert", "host", "connect_timeout", "pool_size"]
        if let unknown = query.keys.sorted().first(where: { !knownKeys.contains($0) }) {
            throw StorageError(code: .invalidArgument,
                               message: "unknown postgres URL parameter '\(unknown)' (known: \(knownKeys.sorted().joined(separator: ", ")))")
        }
        guard let user = components.user, !user.isEmpty else {
            throw StorageError(code: .invalidArgument, message: "the postgres URL names no user (postgres://USER@HOST/DB)")
        }
        username = user
        self.password = password ?? components.password
        port = components.port ?? 5432
        if let socketDirectory = query["host"], socketDirectory.hasPrefix("/") {
            unixSocketDirectory = socketDirectory
            host = nil
        } else {
            unixSocketDirectory = nil
            let host = components.host ?? ""
            guard !host.isEmpty else {
                throw StorageError(code: .invalidArgument, message: "the postgres URL names no host")
            }
            self.host = host
        }
        let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        database = path.isEmpty ? user : path
        let mode = query["sslmode"] ?? TLSMode.prefer.rawValue
        guard let tlsMode = TLSMode(rawValue: mode) else {
            throw StorageError(code: .invalidArgument,
                               message: "unknown sslmode '\(mode)' (use \(TLSMode.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        self.tlsMode = tlsMode
        rootCertificatePath = query["sslrootcert"]
        connectTimeout = .seconds(try Self.positiveInt(query["connect_timeout"], name: "connect_timeout") ?? 10)
        maximumConnections = try Self.positiveInt(query["pool_size"], name: "pool_size") ?? 10
    }

    private static func positiveInt(_ text: String?, name: String) throws -> Int? {
        guard let text else { return nil }
        guard let value = Int(text), value > 0 else {
            throw StorageError(code: .invalidArgument, message: "\(name) must be a positive whole number, got '\(text)'")
        }
        return value
    }

    /// The URL without the password, for logs and error messages.
    public var description: String {
        var components = URLComponents()
        components.scheme = "postgres"
        components.user = username
        components.host = host ?? ""
        components.port = port
        components.path = "/" + database
        var items = [URLQueryItem(name: "sslmode", value: tlsMode.rawValue)]
        if let unixSocketDirectory { items.append(URLQueryItem(name: "host", value: unixSocketDirectory)) }
        components.queryItems = items
        return components.string ?? "postgres://\(username)@\(host ?? "")/\(database)"
    }
}

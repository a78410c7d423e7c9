import Storage
internal import PostgresNIO

extension PostgresStoreConfiguration {
    /// The TLS setting for postgres-nio; libpq's `require` does not verify the certificate.
    func tlsConfiguration() throws -> (connection: PostgresConnection.Configuration.TLS, client: PostgresClient.Configuration.TLS) {
        do {
            return try makeTLSConfiguration()
        } catch {
            throw StorageError(code: .cannotOpen, message: "cannot set up TLS for the postgres connection",
                               location: description, underlying: "\(error)")
        }
    }

    private func makeTLSConfiguration() throws -> (connection: PostgresConnection.Configuration.TLS, client: PostgresClient.Configuration.TLS) {
        var tls = TLSConfiguration.makeClientConfiguration()
        if let rootCertificatePath {
            tls.trustRoots = .file(rootCertificatePath)
        }
        switch tlsMode {
        case .disable:
            return (.disable, .disable)
        case .prefer:
            tls.certificateVerification = .none
            return (try .prefer(.init(configuration: tls)), .prefer(tls))
        case .require:
            tls.certificateVerification = .none
            return (try .require(.init(configuration: tls)), .require(tls))
        case .verifyCA:
            tls.certificateVerification = .noHostnameVerification
            return (try .require(.init(configuration: tls)), .require(tls))
        case .verifyFull:
            tls.certificateVerification = .fullVerification
            return (try .require(.init(configuration: tls)), .require(tls))
        }
    }

    /// A single-connection configuration (for opening and migrating).
    func connectionConfiguration() throws -> PostgresConnection.Configuration {
        var configuration: PostgresConnection.Configuration
        if let unixSocketDirectory {
            configuration = .init(unixSocketPath: socketPath(in: unixSocketDirectory), username: username,
                                  password: password, database: database)
        } else {
            configuration = .init(host: host ?? "localhost", port: port, username: username, password: password,
                                  database: database, tls: try tlsConfiguration().connection)
        }
        configuration.options.connectTimeout = .seconds(connectTimeout.components.seconds)
        return configuration
    }

    /// The pooled configuration.
    func clientConfiguration() throws -> PostgresClient.Configuration {
        var configuration: PostgresClient.Configuration
        if let unixSocketDirectory {
            configuration = .init(unixSocketPath: socketPath(in: unixSocketDirectory), username: username,
                                  password: password, database: database)
        } else {
            configuration = .init(host: host ?? "localhost", port: port, username: username, password: password,
                                  database: database, tls: try tlsConfiguration().client)
        }
        configuration.options.connectTimeout = .seconds(connectTimeout.components.seconds)
        configuration.options.maximumConnections = maximumConnections
        // A connection the network or a failover killed silently must not be leased again: idle connections run
        // a probe query every 10 s, and one that fails it is closed and replaced by the pool.
        configuration.options.keepAliveBehavior = .init(frequency: .seconds(10))
        // postgres-nio offers no SO_KEEPALIVE on its sockets, so ask the server for TCP keepalives on each
        // session instead (probes after 30 s idle, every 10 s, 3 misses close it); calls in flight on a dead
        // connection are bounded by the store's call deadline (`DeadlineStore`).
        configuration.options.additionalStartupParameters = Self.keepaliveStartupParameters
        return configuration
    }

    /// Session settings sent at login: server-side TCP keepalive (ignored on Unix sockets).
    static let keepaliveStartupParameters = [
        ("tcp_keepalives_idle", "30"), ("tcp_keepalives_interval", "10"), ("tcp_keepalives_count", "3"),
    ]

    private func socketPath(in directory: String) -> String {
        directory + "/.s.PGSQL.\(port)"
    }
}

import Foundation
import PBTestSupport
import Storage
import StoragePostgres
import Testing

/// `sslmode` against a PostgreSQL server with TLS on (the repository's test certificates).
@Suite("PostgreSQL TLS", .serialized)
struct PostgresTLSTests {
    let caFile = RepoPaths.servers.appendingPathComponent("certs/ca.pem").path

    func open(_ server: PostgresTestServer, _ url: String) async throws -> PostgresStore {
        try await PostgresStore.openServed(try PostgresStoreConfiguration(url: url, password: server.password))
    }

    @Test("require and verify-full (with the CA) encrypt; verify-full without the CA and require without server TLS fail")
    func sslModes() async throws {
        let server = try await PostgresTestServer.start(tls: true)
        defer { server.stop() }
        let plain = try await PostgresTestServer.shared()

        let required = try await open(server, server.url(database: "postgres", sslmode: "require"))
        #expect(try await required.sessionUsesTLS())
        try await required.close()

        let verified = try await open(server, server.url(database: "postgres", host: "localhost", sslmode: "verify-full")
            + "&sslrootcert=\(caFile)")
        #expect(try await verified.sessionUsesTLS())
        try await verified.close()

        let disabled = try await open(server, server.url(database: "postgres", sslmode: "disable"))
        #expect(!(try await disabled.sessionUsesTLS()))
        try await disabled.close()

        let untrusted = await #expect(throws: StorageError.self) {
            try await open(server, server.url(database: "postgres", host: "localhost", sslmode: "verify-full"))
        }
        #expect(untrusted?.code == .cannotOpen)

        let preferred = try await open(plain, plain.url(database: "postgres", sslmode: "prefer"))
        #expect(!(try await preferred.sessionUsesTLS()), "prefer falls back to plain when the server has no TLS")
        try await preferred.close()

        let refused = await #expect(throws: StorageError.self) {
            try await open(plain, plain.url(database: "postgres", sslmode: "require"))
        }
        #expect(refused?.code == .cannotOpen)
    }
}

import Storage
import StoragePostgres
import Testing

@Suite("PostgresStoreConfiguration")
struct PostgresStoreConfigurationTests {
    @Test("a full URL parses; the description never shows the password")
    func parsesURL() throws {
        let configuration = try PostgresStoreConfiguration(
            url: "postgres://bridge:s3cr%40t@db.internal:6543/persona?sslmode=verify-full&sslrootcert=/etc/ca.pem&pool_size=4")
        #expect(configuration.username == "bridge")
        #expect(configuration.password == "s3cr@t")
        #expect(configuration.host == "db.internal")
        #expect(configuration.port == 6543)
        #expect(configuration.database == "persona")
        #expect(configuration.tlsMode == .verifyFull)
        #expect(configuration.rootCertificatePath == "/etc/ca.pem")
        #expect(configuration.maximumConnections == 4)
        #expect(!configuration.description.contains("s3cr"))
        #expect(configuration.description.hasPrefix("postgres://bridge@db.internal:6543/persona"))
    }

    @Test("defaults: port 5432, database named after the user, sslmode prefer; a separate password wins")
    func defaults() throws {
        let configuration = try PostgresStoreConfiguration(url: "postgresql://bot:inurl@localhost", password: "fromfile")
        #expect(configuration.port == 5432)
        #expect(configuration.database == "bot")
        #expect(configuration.tlsMode == .prefer)
        #expect(configuration.password == "fromfile")
        #expect(configuration.unixSocketDirectory == nil)
    }

    @Test("a host parameter starting with / selects the Unix socket directory")
    func unixSocket() throws {
        let configuration = try PostgresStoreConfiguration(url: "postgres://bot@localhost/db?host=/run/postgresql")
        #expect(configuration.unixSocketDirectory == "/run/postgresql")
        #expect(configuration.host == nil)
    }

    @Test("bad URLs are refused with invalidArgument and no password in the message",
          arguments: [
            "mysql://u:hunter2@h/db", "postgres://h/db", "postgres://u:hunter2@h/db?sslmode=sometimes",
            "postgres://u:hunter2@h/db?colour=blue", "postgres://u:hunter2@h/db?pool_size=0",
          ])
    func refusesBadURLs(_ url: String) throws {
        let error = #expect(throws: StorageError.self) { try PostgresStoreConfiguration(url: url) }
        #expect(error?.code == .invalidArgument)
        #expect(!(error?.description.contains("hunter2") ?? true))
    }
}

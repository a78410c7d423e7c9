import Foundation
import PBTestSupport
import Storage
import StoragePostgres

/// One database that tests open stores over. Opening it again models a process restart
/// (or, for two live stores, a second process).
protocol StoreFixture: Sendable {
    /// Whether stores opened by `open()` share data (and so survive a "restart").
    var persists: Bool { get }
    /// Opens a new store on this fixture's database.
    func open() async throws -> any Store
    /// Deletes the database; called once at the end of a test.
    func destroy() async throws
    /// How another process (`pb-store-worker`) opens this database: its STORE argument and extra
    /// environment; `nil` when no other process can reach it.
    var processAccess: (store: String, environment: [String: String])? { get }
}

extension StoreFixture {
    /// No access from other processes unless a fixture says how.
    var processAccess: (store: String, environment: [String: String])? { nil }
}

/// A storage backend the shared suite runs against.
///
/// The PostgreSQL backend starts one server per test process on a free loopback port
/// (`PostgresTestServer`) and gives each fixture a fresh database; missing server binaries make
/// `makeFixture` throw with a clear message, so the tests fail rather than pass silently.
struct StoreBackend: Sendable, CustomStringConvertible {
    /// Name shown in test output.
    let name: String
    /// Whether opened stores share data; restart tests run only on these.
    let persists: Bool
    /// Creates an empty database.
    let makeFixture: @Sendable () async throws -> any StoreFixture

    var description: String { name }

    /// Every backend the shared suite runs on.
    static let all: [StoreBackend] = [.sqliteFile, .sqliteInMemory, .postgres]
    /// Backends whose data outlives a store instance.
    static let persistent: [StoreBackend] = all.filter(\.persists)

    static let sqliteFile = StoreBackend(name: "sqlite-file", persists: true) {
        SQLiteFileFixture(directory: try TemporaryDirectory())
    }
    static let sqliteInMemory = StoreBackend(name: "sqlite-memory", persists: false) {
        SQLiteMemoryFixture()
    }
    static let postgres = StoreBackend(name: "postgres", persists: true) {
        let server = try await PostgresTestServer.shared()
        return PostgresFixture(server: server, database: try await server.createDatabase())
    }
}

/// A fresh directory under the system temporary directory.
struct TemporaryDirectory: Sendable {
    let path: String

    init() throws {
        path = FileManager.default.temporaryDirectory
            .appendingPathComponent("pb-storage-tests-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func file(_ name: String) -> String { path + "/" + name }

    func remove() throws {
        try FileManager.default.removeItem(atPath: path)
    }
}

struct SQLiteFileFixture: StoreFixture {
    let directory: TemporaryDirectory
    var databasePath: String { directory.file("nested/dir/bridge.sqlite") }
    var persists: Bool { true }

    func open() async throws -> any Store {
        try await SQLiteStore.open(.file(path: databasePath))
    }

    func destroy() async throws {
        try directory.remove()
    }

    var processAccess: (store: String, environment: [String: String])? { (databasePath, [:]) }
}

struct SQLiteMemoryFixture: StoreFixture {
    var persists: Bool { false }

    func open() async throws -> any Store {
        try SQLiteStore.inMemory()
    }

    func destroy() async throws {}
}

struct PostgresFixture: StoreFixture {
    let server: PostgresTestServer
    let database: String
    var persists: Bool { true }

    func open() async throws -> any Store {
        var configuration = try PostgresStoreConfiguration(url: server.url(database: database), password: server.password)
        // Many tests share one server: keep each store's pool small.
        configuration.maximumConnections = 4
        return try await PostgresStore.openServed(configuration)
    }

    func destroy() async throws {
        try await server.dropDatabase(database)
    }

    var processAccess: (store: String, environment: [String: String])? {
        (server.url(database: database), ["PB_POSTGRES_PASSWORD": server.password])
    }
}

/// Runs `body` with a fresh fixture of `backend`, destroying it afterwards.
func withFixture(
    _ backend: StoreBackend, _ body: (any StoreFixture) async throws -> Void
) async throws {
    let fixture = try await backend.makeFixture()
    do {
        try await body(fixture)
    } catch {
        try? await fixture.destroy()
        throw error
    }
    try await fixture.destroy()
}

/// Runs `body` with a store on a fresh database of `backend`, closing it afterwards.
func withStore(_ backend: StoreBackend, _ body: (any Store) async throws -> Void) async throws {
    try await withFixture(backend) { fixture in
        try await withOpenStore(fixture, body)
    }
}

/// Opens a store on `fixture`, runs `body`, and closes the store (like a process exit).
func withOpenStore(_ fixture: any StoreFixture, _ body: (any Store) async throws -> Void) async throws {
    let store = try await fixture.open()
    do {
        try await body(store)
    } catch {
        try? await store.close()
        throw error
    }
    try await store.close()
}

// MARK: Sample data

let general = ChannelKey(platform: "discord", serverID: "guild-1", channelID: "general")
let random = ChannelKey(platform: "discord", serverID: "guild-1", channelID: "random")

/// A date at a whole millisecond, the precision every backend keeps.
func at(_ milliseconds: Int64) -> Date {
    Date(timeIntervalSince1970: Double(milliseconds) / 1000)
}

/// A human message with predictable fields.
func humanMessage(
    _ id: String, in channel: ChannelKey = general, text: String? = nil, at milliseconds: Int64,
    speaker: String = "u1", name: String = "Alice", replyTo: String? = nil
) -> StoredMessage {
    StoredMessage(channel: channel, messageID: id, speakerID: speaker, speakerName: name, kind: .human,
                  text: text ?? "text of \(id)", timestamp: at(milliseconds), replyToID: replyTo)
}

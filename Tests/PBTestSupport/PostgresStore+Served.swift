import Logging
import StoragePostgres

extension PostgresStore {
    /// Opens the store with its pool served by a task of its own until `close()`: a test has no service group.
    public static func openServed(_ configuration: PostgresStoreConfiguration,
                                  logger: Logger = Logger(label: "persona-bridge.storage")) async throws -> PostgresStore {
        let store = try await open(configuration, logger: logger)
        Task { await store.run() }
        return store
    }
}

import ServiceLifecycle

/// The store and the HTTP driver as a service: first in the group, so on shutdown they close last, after the
/// router has drained and every adapter has disconnected.
struct RuntimeService: Service {
    let runtime: BridgeRuntime

    /// The runtime's services in group order: this one, which serves the store and closes it.
    static func services(_ runtime: BridgeRuntime) -> [ServiceGroupConfiguration.ServiceConfiguration] {
        [.init(service: RuntimeService(runtime: runtime))]
    }

    /// Serves the store (a PostgreSQL pool) and waits for graceful shutdown (or cancellation), then flushes and
    /// closes the store and stops HTTP.
    func run() async throws {
        await withDiscardingTaskGroup { group in
            if let store = runtime.storeService {
                // A child here, not a service of the group: closing the store ends its run, and the group fails a
                // graceful shutdown when a service ends before its turn (it did, when stopping HTTP took a while).
                group.addTask { try? await store.run() }
            }
            try? await gracefulShutdown()
            await runtime.shutdown()
        }
    }
}

import ServiceLifecycle

/// The store and the HTTP driver as a service: first in the group, so on shutdown they close last, after the
/// router has drained and every adapter has disconnected.
struct RuntimeService: Service {
    let runtime: BridgeRuntime

    /// The runtime's services in group order: what serves the store, then this, which closes it.
    static func services(_ runtime: BridgeRuntime) -> [ServiceGroupConfiguration.ServiceConfiguration] {
        (runtime.storeService.map { [.init(service: $0, successTerminationBehavior: .ignore)] } ?? []) + [.init(service: RuntimeService(runtime: runtime))]
    }

    /// Waits for graceful shutdown (or cancellation), then flushes and closes the store and stops HTTP.
    func run() async throws {
        try? await gracefulShutdown()
        await runtime.shutdown()
    }
}

import ServiceLifecycle

/// The store and the HTTP driver as a service: first in the group, so on shutdown they close last, after the
/// router has drained and every adapter has disconnected.
struct RuntimeService: Service {
    let runtime: BridgeRuntime

    /// Waits for graceful shutdown (or cancellation), then flushes and closes the store and stops HTTP.
    func run() async throws {
        try? await gracefulShutdown()
        await runtime.shutdown()
    }
}

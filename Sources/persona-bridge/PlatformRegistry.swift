import BridgeConfig
import BridgeCore
import Logging
import ServiceLifecycle

/// One adapter `run` can start: its platform name and how to build it from the config.
struct PlatformFactory: Sendable {
    /// A started adapter and the service that runs it.
    struct Built {
        let platform: any ChatPlatform
        let service: any Service
    }

    /// The `[platforms.NAME]` section this factory serves.
    let name: String
    /// Builds the adapter; throws a `PlatformSetupError` naming the bad key.
    let make: @Sendable (_ configuration: BridgeConfiguration, _ runtime: BridgeRuntime, _ logger: Logger) async throws -> Built
    /// The same checks `make` does, without connecting, so `check` reports them too.
    let validate: @Sendable (_ configuration: BridgeConfiguration) throws -> Void

    init(
        name: String, validate: @escaping @Sendable (_ configuration: BridgeConfiguration) throws -> Void = { _ in },
        make: @escaping @Sendable (_ configuration: BridgeConfiguration, _ runtime: BridgeRuntime, _ logger: Logger) async throws -> Built
    ) {
        self.name = name
        self.validate = validate
        self.make = make
    }
}

/// A config problem found while building an adapter (a missing token, a bad address).
struct PlatformSetupError: Error, CustomStringConvertible {
    /// The platform whose section is wrong.
    let platform: String
    /// What is wrong and how to fix it.
    let message: String

    var description: String { "[platforms.\(platform)]: \(message)" }
}

/// Every adapter this build includes. Each adapter's factory lives in its `NAMEPlatform+Configuration.swift`.
enum PlatformRegistry {
    static let factories: [PlatformFactory] = [
        .console,
        .discord,
        .irc,
        .matrix,
        .jsonl,
    ]

    /// Names of the platforms `run` can start.
    static var names: [String] { factories.map(\.name) }

    /// The factory for `name`, if this build has one.
    static func factory(named name: String) -> PlatformFactory? { factories.first { $0.name == name } }
}

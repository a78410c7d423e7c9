// swift-tools-version:6.0
import PackageDescription
#if os(Linux)
import Glibc
#endif

// Dependencies point one way: CLI → adapters → BridgeCore → (BridgeConfig → ModelClient, Storage) → transports → C modules.

// The release link of the two executables on Linux, for a small resident set (README, "Idle memory"). Build with
// `--static-swift-stdlib` as the scripts and the container do (it must reach the compiler too, so it cannot be
// set here); then only the code the bridge runs of the Swift runtime and Foundation is mapped, and
// - lld with packed relative relocations where the build machine's glibc reads them (2.36 and later; the binary
//   then asks for it, and an older loader would refuse to start it): the loader reads 50 KB of relocations, not 3 MB;
// - no dynamic symbol table for the Swift code (`-static-stdlib` exports every symbol, and the loader then
//   searches that table for each C library symbol);
// - the functions run from start to idle placed together, in the order `Deploy/scripts/hot-symbols.sh` records
//   (a stale name is skipped), so the pages they share are not spread over the whole 30 MB of code.
#if os(Linux)
let glibcReadsPackedRelocations: Bool = {
    // "glibc 2.36"
    var text = [CChar](repeating: 0, count: 64)
    guard confstr(Int32(_CS_GNU_LIBC_VERSION), &text, text.count) > 0 else { return false }
    let words = String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self).split(separator: " ")
    let version = words.last?.split(separator: ".").compactMap { Int($0) } ?? []
    return version.count >= 2 && (version[0], version[1]) >= (2, 36)
}()
#else
let glibcReadsPackedRelocations = false
#endif

let leanReleaseLink: [LinkerSetting] = [
    .unsafeFlags(
        [
            "-use-ld=lld",
            "-Xlinker", "--no-export-dynamic",
            "-Xlinker", "--symbol-ordering-file", "-Xlinker", "\(Context.packageDirectory)/Sources/persona-bridge/hot-symbols.order",
            "-Xlinker", "--no-warn-symbol-ordering",
        ] + (glibcReadsPackedRelocations ? ["-Xlinker", "-z", "-Xlinker", "pack-relative-relocs"] : []),
        .when(platforms: [.linux], configuration: .release)),
]

// Each function of our own code in a section of its own (release, Linux), so the ordering above can move it.
let functionSections: [SwiftSetting] = [
    .unsafeFlags(["-Xfrontend", "-function-sections"], .when(platforms: [.linux], configuration: .release)),
]

let package = Package(
    name: "PersonaBridge",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "persona-bridge", targets: ["persona-bridge"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.1.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.1.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.21.0"),
    ],
    targets: [
        // C system libraries, each with a shim.h of typed static inline wrappers.
        .systemLibrary(
            name: "CCurl", path: "Sources/CCurl", pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(
            name: "CWebSockets", path: "Sources/CWebSockets", pkgConfig: "libwebsockets",
            providers: [.apt(["libwebsockets-dev"])]),
        .systemLibrary(
            name: "CZlib", path: "Sources/CZlib", pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]),
        // glibc's malloc_trim, behind a static inline wrapper (part of libc: nothing to link).
        .systemLibrary(name: "CMalloc", path: "Sources/CMalloc"),
        // libcrypto (already linked for TLS) for encrypting secrets at rest; no Swift crypto package.
        .systemLibrary(
            name: "CCrypto", path: "Sources/CCrypto", pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]),

        // Transports: the only code that touches the C APIs.
        .target(
            name: "HTTPTransport",
            dependencies: [
                "CCurl",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "DequeModule", package: "swift-collections"),
            ]),
        .target(
            name: "SocketTransport",
            dependencies: [
                "CWebSockets",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "DequeModule", package: "swift-collections"),
            ],
            // The line socket's TLS layer calls OpenSSL directly (lws 4.1.6's raw TLS client is broken).
            linkerSettings: [.linkedLibrary("ssl"), .linkedLibrary("crypto")]),

        // M2-her model client.
        .target(
            name: "ModelClient",
            dependencies: [
                "HTTPTransport",
                .product(name: "Logging", package: "swift-log"),
            ]),

        // History and state store.
        .target(
            name: "Storage",
            dependencies: [
                "CCrypto",
                .product(name: "GRDB", package: "GRDB.swift"),
                // The history batch binds its values straight to SQLite (see SQLiteStore+BatchInsert.swift).
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ]),

        // PostgreSQL `Store` for several processes sharing one database (postgres-nio is the one NIO exception).
        .target(
            name: "StoragePostgres",
            dependencies: [
                "Storage",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]),

        // TOML configuration, personas, character cards (CHARX zips inflate with zlib), lorebooks and validation;
        // the model settings are the model client's own types.
        .target(
            name: "BridgeConfig",
            dependencies: [
                "ModelClient",
                "CZlib",
                .product(name: "TOMLKit", package: "TOMLKit"),
                .product(name: "Logging", package: "swift-log"),
            ]),

        // Platform-neutral core: policy, context, replies, commands, router.
        .target(
            name: "BridgeCore",
            dependencies: [
                "BridgeConfig", "ModelClient", "Storage",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ]),

        // /metrics, /healthz, /readyz over the lws HTTP server, and the log handlers.
        .target(
            name: "Observability",
            dependencies: [
                "BridgeCore", "SocketTransport", "Storage", "CMalloc",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]),

        // Terminal chat adapter.
        .target(
            name: "PlatformConsole",
            dependencies: [
                "BridgeCore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]),

        // IRC adapter: registration, flood control and line-wise streaming over a raw TCP/TLS socket.
        .target(
            name: "PlatformIRC",
            dependencies: [
                "BridgeCore", "SocketTransport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]),

        // Discord adapter: gateway (zlib-stream) over the websocket transport, REST over HTTP.
        .target(
            name: "PlatformDiscord",
            dependencies: [
                "BridgeCore", "Storage", "HTTPTransport", "SocketTransport", "CZlib",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]),

        // Matrix adapter: /sync long-poll and m.replace streaming over the HTTP transport.
        .target(
            name: "PlatformMatrix",
            dependencies: [
                "BridgeCore", "HTTPTransport", "Storage", "SocketTransport", "CCrypto",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]),

        // The thin CLI.
        .executableTarget(
            name: "persona-bridge",
            dependencies: [
                "BridgeConfig", "BridgeCore", "PlatformConsole", "PlatformDiscord", "PlatformIRC", "PlatformMatrix", "ModelClient",
                "HTTPTransport", "SocketTransport", "Storage", "StoragePostgres", "Observability",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            exclude: ["hot-symbols.order"],
            linkerSettings: leanReleaseLink),

        // Loopback benchmarks: `swift run -c release pb-bench [transport …]`.
        .executableTarget(
            name: "pb-bench",
            dependencies: [
                "HTTPTransport", "SocketTransport", "ModelClient", "BridgeCore", "BridgeConfig", "PBTestSupport", "PlatformDiscord", "Storage", "Observability",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/pb-bench",
            linkerSettings: leanReleaseLink),

        // Shared test helpers: spawning loopback servers (ngIRCd among them), free ports, repo paths, the in-memory
        // platform, a person on IRC over a raw line socket.
        .target(
            name: "PBTestSupport",
            dependencies: [
                "Storage", "StoragePostgres", "BridgeCore", "ModelClient", "SocketTransport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Tests/PBTestSupport"),

        .testTarget(name: "HTTPTransportTests", dependencies: ["HTTPTransport", "PBTestSupport"]),
        .testTarget(name: "SocketTransportTests", dependencies: ["SocketTransport", "PBTestSupport"]),
        .testTarget(name: "ModelClientTests", dependencies: ["ModelClient", "HTTPTransport", "PBTestSupport"]),
        // GRDB itself to build databases as earlier versions left them (migration tests).
        .testTarget(name: "StorageTests", dependencies: ["Storage", "StoragePostgres", "PBTestSupport",
                                                         .product(name: "GRDB", package: "GRDB.swift")]),
        .testTarget(name: "StoragePostgresTests", dependencies: ["StoragePostgres", "Storage", "PBTestSupport"]),
        // A second process for storage tests: writes until killed, or races another for claims.
        .executableTarget(
            name: "pb-store-worker",
            dependencies: ["Storage", "StoragePostgres", .product(name: "Logging", package: "swift-log")],
            path: "Tests/StoreWorker"),
        .testTarget(name: "BridgeConfigTests", dependencies: ["BridgeConfig", "PBTestSupport"]),
        .testTarget(name: "PlatformIRCTests", dependencies: ["PlatformIRC", "BridgeCore", "PBTestSupport"]),
        .testTarget(name: "PlatformDiscordTests", dependencies: ["PlatformDiscord", "BridgeCore", "PBTestSupport", "Observability"]),
        .testTarget(name: "CLITests", dependencies: ["persona-bridge", "PBTestSupport"]),
        .testTarget(
            name: "PlatformMatrixTests",
            dependencies: [
                "PlatformMatrix", "BridgeCore", "BridgeConfig", "ModelClient", "Storage", "HTTPTransport", "PBTestSupport",
                "persona-bridge",
            ]),
        .testTarget(
            name: "ObservabilityTests",
            dependencies: ["Observability", "BridgeCore", "BridgeConfig", "ModelClient", "Storage", "SocketTransport",
                           "HTTPTransport", "PBTestSupport"]),
        .testTarget(name: "PlatformConsoleTests", dependencies: ["PlatformConsole", "BridgeCore"]),
        .testTarget(
            name: "BridgeCoreTests",
            dependencies: ["BridgeCore", "BridgeConfig", "ModelClient", "Storage", "PlatformConsole", "PBTestSupport", "pb-bench"]),
    ]
)

for target in package.targets where target.type == .regular || target.type == .executable {
    target.swiftSettings = (target.swiftSettings ?? []) + functionSections
}

import Foundation
import PBTestSupport
import Testing

/// The files in `Deploy/`: Kubernetes manifests, the systemd unit and the container file.
@Suite("Deploy files")
struct DeployTests {
    let kubernetes = RepoPaths.root.appendingPathComponent("Deploy/kubernetes")
    var resources: [String] {
        ["secret.yaml", "configmap.yaml", "service.yaml", "statefulset.yaml", "networkpolicy.yaml", "postgres-ca.yaml"]
            .map { kubernetes.appendingPathComponent($0).path }
    }

    /// A tool from `.venv-tools` (Deploy/scripts/setup.sh --test installs it); fails clearly when missing.
    func venvTool(_ name: String) throws -> String {
        let path = RepoPaths.root.appendingPathComponent(".venv-tools/bin/\(name)").path
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw TestServerError("\(path) is missing: run Deploy/scripts/setup.sh --test (installs kubernetes-validate from PyPI)")
        }
        return path
    }

    func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) async throws -> (Int32, String) {
        var env = ProcessInfo.processInfo.environment
        env.merge(environment) { $1 }
        let process = try TestServer(executable: executable, arguments: arguments, environment: env)
        return try await process.waitForCompleteOutput(timeout: .seconds(120))
    }

    /// The ConfigMap's files laid out as a pod sees them (through the StatefulSet's volume items).
    func configMapDirectory() async throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pb-deploy-\(UUID().uuidString)")
        let (code, output) = try await run(try venvTool("python"), [
            RepoPaths.root.appendingPathComponent("Deploy/scripts/configmap-to-dir.py").path,
            kubernetes.appendingPathComponent("configmap.yaml").path,
            kubernetes.appendingPathComponent("statefulset.yaml").path, directory.path,
        ])
        #expect(code == 0, "\(output)")
        return directory
    }

    @Test("persona-bridge check accepts the config embedded in the Kubernetes ConfigMap")
    func configMapPassesCheck() async throws {
        let directory = try await configMapDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let config = directory.appendingPathComponent("bridge.toml")
        let environment = ["DISCORD_TOKEN": "test-token", "OPENROUTER_API_KEY": "test-key"]

        let (code, output) = try await CLI.run(["check", "--config", config.path], environment: environment)
        #expect(code == 0, "\(output)")
        #expect(output.contains("OK — 3 personas, 1 channel binding"), "\(output)")
        #expect(output.contains("platforms: discord"), "\(output)")
        #expect(!output.contains("test-token") && !output.contains("test-key"))
    }

    @Test("the ConfigMap's config runs on PostgreSQL and answers the StatefulSet's probe paths")
    func configMapConfigServesProbes() async throws {
        let directory = try await configMapDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        // The probe paths and port name as the StatefulSet declares them.
        let (probeCode, probes) = try await run(try venvTool("python"), ["-c", """
            import sys, yaml
            c = yaml.safe_load(open(sys.argv[1]))["spec"]["template"]["spec"]["containers"][0]
            print(c["livenessProbe"]["httpGet"]["path"], c["readinessProbe"]["httpGet"]["path"])
            """, resources[3]])
        #expect(probeCode == 0, "\(probes)")
        let paths = probes.split(whereSeparator: \.isWhitespace).map(String.init)
        try #require(paths.count == 2)

        let postgres = try await PostgresTestServer.shared()
        try await postgres.withDatabase { database in
            // Here: the test database instead of the cluster's, a loopback port, and the JSON-lines
            // adapter standing in for Discord (whose adapter is not needed to serve the probes).
            // The pod's metrics token file, here a temporary one: the probes must work without it, /metrics not.
            let tokenFile = directory.appendingPathComponent("metrics-token")
            try "test-metrics-token\n".write(to: tokenFile, atomically: true, encoding: .utf8)
            var config = try String(contentsOf: directory.appendingPathComponent("bridge.toml"), encoding: .utf8)
            config = config
                .replacingOccurrences(
                    of: #"url = "postgres://persona_bridge@postgres.database.svc.cluster.local:5432/persona_bridge?sslmode=verify-full&sslrootcert=/etc/persona-bridge/postgres-ca/ca.crt""#,
                    with: "url = \"\(postgres.url(database: database))\"")
                .replacingOccurrences(of: #"metrics_address = "${POD_IP}:9464""#, with: "metrics_address = \"127.0.0.1:0\"")
                .replacingOccurrences(of: #"metrics_token_file = "/etc/persona-bridge/metrics-token/token""#,
                                      with: "metrics_token_file = \"\(tokenFile.path)\"")
                .replacingOccurrences(of: "[platforms.discord]\nenabled = true", with: "[platforms.discord]\nenabled = false")
            try #require(config.contains(postgres.url(database: database)) && config.contains("127.0.0.1:0")
                && config.contains(tokenFile.path))
            config += "\n[platforms.jsonl]\nenabled = true\n"
            let path = directory.appendingPathComponent("local.toml")
            try config.write(to: path, atomically: true, encoding: .utf8)

            let bridge = try TestServer(
                executable: CLI.binary, arguments: ["run", "--config", path.path],
                environment: ["PATH": "/usr/bin:/bin", "HOME": NSTemporaryDirectory(), "OPENROUTER_API_KEY": "test-key",
                              "PB_POSTGRES_PASSWORD": postgres.password])
            defer { bridge.stop() }
            let port = try await operationsPort(of: bridge)
            try await bridge.waitForPort(port, timeout: .seconds(60))
            for probe in paths {
                let (code, body) = try await run(try venvTool("python"), ["-c", """
                    import sys, urllib.request
                    print(urllib.request.urlopen(sys.argv[1], timeout=10).status)
                    """, "http://127.0.0.1:\(port)\(probe)"])
                #expect(code == 0 && body.contains("200"), "\(probe): \(body)\n\(bridge.output)")
            }
            // /metrics wants the bearer token from metrics_token_file.
            let (_, scrape) = try await run(try venvTool("python"), ["-c", """
                import sys, urllib.request, urllib.error
                def status(headers):
                    try:
                        return urllib.request.urlopen(urllib.request.Request(sys.argv[1], headers=headers), timeout=10).status
                    except urllib.error.HTTPError as error:
                        return error.code
                print(status({}), status({"Authorization": "Bearer test-metrics-token"}))
                """, "http://127.0.0.1:\(port)/metrics"])
            #expect(scrape.split(whereSeparator: \.isWhitespace) == ["401", "200"], "\(scrape)")
            let migrations = try await postgres.execute("SELECT count(*) FROM pb_schema_migrations", database: database)
            #expect(migrations == "9", "the bridge migrated the PostgreSQL store (every migration applied)")
            kill(bridge.pid, SIGTERM)
            let (status, output) = try await bridge.waitForCompleteOutput(timeout: .seconds(60))
            #expect(status == 0, "\(output)")
            #expect(!output.contains(postgres.password))
        }
    }

    @Test("the ConfigMap's personas are byte-identical to Bots/personas")
    func configMapPersonasMatchBots() async throws {
        let directory = try await configMapDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let shipped = try FileManager.default.contentsOfDirectory(atPath: RepoPaths.bots.appendingPathComponent("personas").path)
            .filter { $0.hasSuffix(".toml") }.sorted()
        let mounted = try FileManager.default.contentsOfDirectory(atPath: directory.appendingPathComponent("personas").path).sorted()
        #expect(mounted == shipped)
        for name in shipped {
            let bots = try Data(contentsOf: RepoPaths.bots.appendingPathComponent("personas/\(name)"))
            let pod = try Data(contentsOf: directory.appendingPathComponent("personas/\(name)"))
            #expect(bots == pod, "personas/\(name) differs between Bots/ and the ConfigMap")
        }
    }

    @Test("the manifests pass Kubernetes schema validation (kubernetes-validate --strict)")
    func manifestsValidate() async throws {
        let (code, output) = try await run(try venvTool("kubernetes-validate"), ["--strict"] + resources)
        #expect(code == 0, "\(output)")
        for kind in ["secret/persona-bridge-secrets", "configmap/persona-bridge-config", "service/persona-bridge",
                     "statefulset/persona-bridge", "networkpolicy/persona-bridge-metrics", "configmap/postgres-ca"] {
            #expect(output.contains("passed for resource \(kind)"), "\(output)")
        }
        // The validator really rejects a broken manifest (so a pass above means something).
        let broken = FileManager.default.temporaryDirectory.appendingPathComponent("pb-broken-\(UUID().uuidString).yaml")
        defer { try? FileManager.default.removeItem(at: broken) }
        let text = try String(contentsOfFile: resources[3], encoding: .utf8).replacingOccurrences(of: "replicas: 2", with: "replicas: two")
        try text.write(to: broken, atomically: true, encoding: .utf8)
        let (brokenCode, brokenOutput) = try await run(try venvTool("kubernetes-validate"), ["--strict", broken.path])
        #expect(brokenCode != 0, "\(brokenOutput)")
    }

    @Test("the StatefulSet runs shard per pod: PB_SHARD_IDS=ordinal, PB_SHARD_COUNT = replicas, probes on /healthz and /readyz")
    func statefulSetSharding() async throws {
        let script = """
            import sys, yaml
            s = yaml.safe_load(open(sys.argv[1]))
            c = s["spec"]["template"]["spec"]["containers"][0]
            env = {e["name"]: e.get("value") for e in c["env"]}
            print("replicas", s["spec"]["replicas"])
            print("count", env["PB_SHARD_COUNT"])
            print("ids", env["PB_SHARD_IDS"])
            print("liveness", c["livenessProbe"]["httpGet"]["path"])
            print("readiness", c["readinessProbe"]["httpGet"]["path"])
            print("secret", c["envFrom"][0]["secretRef"]["name"])
            """
        let (code, output) = try await run(try venvTool("python"), ["-c", script, resources[3]])
        #expect(code == 0, "\(output)")
        let values = Dictionary(uniqueKeysWithValues: output.split(separator: "\n").compactMap { line -> (String, String)? in
            let parts = line.split(separator: " ", maxSplits: 1).map(String.init)
            return parts.count == 2 ? (parts[0], parts[1]) : nil
        })
        #expect(values["count"] == values["replicas"], "PB_SHARD_COUNT must equal replicas: \(output)")
        #expect(values["ids"] == "ordinal")
        #expect(values["liveness"] == "/healthz")
        #expect(values["readiness"] == "/readyz")
        #expect(values["secret"] == "persona-bridge-secrets")
    }

    @Test("the systemd unit is hardened and passes systemd-analyze verify")
    func systemdUnitVerifies() async throws {
        let unit = try String(contentsOfFile: RepoPaths.root.appendingPathComponent("Deploy/systemd/persona-bridge.service").path,
                              encoding: .utf8)
        for setting in ["DynamicUser=yes", "ProtectSystem=strict", "StateDirectory=persona-bridge", "Restart=on-failure",
                        "NoNewPrivileges=yes", "ProtectHome=yes", "PrivateTmp=yes", "CapabilityBoundingSet="] {
            #expect(unit.contains("\n\(setting)\n"), "missing \(setting)")
        }
        guard let analyze = findExecutable("systemd-analyze") else {
            throw TestServerError("systemd-analyze is not installed: install the Debian package 'systemd' (setup.sh --test does)")
        }
        // Point ExecStart at the built binary so verify can check it exists and is executable.
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pb-unit-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let copy = directory.appendingPathComponent("persona-bridge.service")
        try unit.replacingOccurrences(of: "/usr/local/bin/persona-bridge", with: CLI.binary)
            .write(to: copy, atomically: true, encoding: .utf8)
        let (code, output) = try await run(analyze, ["verify", copy.path])
        #expect(code == 0, "\(output)")
        #expect(!output.contains("Unknown key") && !output.contains("Unknown section"), "\(output)")
    }

    @Test("the container file builds with the Swift image and runs on Debian slim with only the runtime libraries (not built here)")
    func containerfileStages() throws {
        let text = try String(contentsOfFile: RepoPaths.root.appendingPathComponent("Deploy/Containerfile").path,
                              encoding: .utf8)
        let stages = text.split(separator: "\n").filter { $0.hasPrefix("FROM ") }
        #expect(stages.count == 2)
        #expect(stages.first?.hasPrefix("FROM ${SWIFT_IMAGE} AS build") ?? false)
        #expect(text.contains("\nARG SWIFT_IMAGE=swift:6"), "the build stage is the official Swift 6 image")
        #expect(stages.last?.contains("debian:bookworm-slim") ?? false)
        let runtimeStage = String(text[try #require(text.range(of: "FROM debian:bookworm-slim")).lowerBound...])
        // The words between `apt-get install` and the next `&&` of the runtime stage, without options.
        let install = try #require(runtimeStage.range(of: "apt-get install"))
        let rest = runtimeStage[install.upperBound...]
        let installLine = rest[..<(rest.range(of: "&&")?.lowerBound ?? rest.endIndex)]
        let packages = installLine.split(whereSeparator: \.isWhitespace).filter { !$0.hasPrefix("-") }
        #expect(Set(packages.map(String.init)) == ["libcurl4", "libwebsockets17", "libsqlite3-0", "ca-certificates"], "\(installLine)")
        #expect(text.contains("USER "))
    }

    @Test("the release link's symbol order is there, holds only symbol names, the manifest links with it, and the scripts build as it was recorded")
    func releaseLinkOrder() throws {
        // lld stops the release link when the file is missing, and nothing else in the test run links a release build.
        let order = try String(contentsOf: RepoPaths.root.appendingPathComponent("Sources/persona-bridge/hot-symbols.order"),
                               encoding: .utf8)
        let names = order.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        #expect(names.count > 500, "Deploy/scripts/hot-symbols.sh records a few thousand functions")
        #expect(names.allSatisfy { !$0.isEmpty && !$0.contains(where: \.isWhitespace) }, "one symbol name per line")
        #expect(Set(names).count == names.count, "no name twice")
        #expect(names.first == "_start")
        let manifest = try String(contentsOf: RepoPaths.root.appendingPathComponent("Package.swift"), encoding: .utf8)
        #expect(manifest.contains("--symbol-ordering-file") && manifest.contains("/Sources/persona-bridge/hot-symbols.order"))
        for script in ["Deploy/scripts/run-demo.sh", "Deploy/scripts/hot-symbols.sh", "Deploy/Containerfile"] {
            let text = try String(contentsOf: RepoPaths.root.appendingPathComponent(script), encoding: .utf8)
            #expect(text.contains("--static-swift-stdlib"), "\(script) builds with the statically linked runtime the order was recorded on")
        }
    }
}

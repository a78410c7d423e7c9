import Foundation
import ModelClient

/// Personas found while loading: by name, plus what was looked at for hints.
struct LoadedPersonas {
    var loaded: [String: Persona] = [:]
    var failed: Set<String> = []
    var directory: String = ""
    /// Usable lorebooks by file stem (`harbour-town` for `harbour-town.lore.json`).
    var lorebooks: [String: Lorebook] = [:]
}

extension ConfigLoader {
    func readModel(_ root: [String: ConfigValue], _ reader: SchemaReader) -> ModelSettings {
        let path = "model"
        guard let table = reader.table(root, "model", at: "") else {
            var settings = ModelSettings()
            if root["model"] == nil { resolveKey(&settings, reader, at: path) }
            return settings
        }
        var known = ConfigSchema.model
        known.append("api_key")  // reported below with a specific message
        reader.checkKeys(table, at: path, known: known)
        if table["api_key"] != nil {
            reader.report("model.api_key", "the API key must not be written into the config file",
                          hint: "export it as an environment variable named by api_key_env, or set api_key_file")
        }
        var provider = ModelProvider.openrouter
        if let text = reader.string(table, "provider", at: path) {
            if let known = ModelProvider(rawValue: text.lowercased()) {
                provider = known
            } else {
                let names = ModelProvider.allCases.map(\.rawValue)
                reader.report("model.provider", "unknown provider '\(text)'",
                              hint: SchemaReader.suggestion(for: text, among: names).map { "did you mean '\($0)'?" }
                                ?? "use one of: \(names.joined(separator: ", "))")
            }
        }
        var dialect = RoleDialect.auto
        if let text = reader.string(table, "dialect", at: path) {
            if let known = RoleDialect(rawValue: text.lowercased()) {
                dialect = known
            } else {
                reader.report("model.dialect", "unknown dialect '\(text)'",
                              hint: "use " + RoleDialect.allCases.map(\.rawValue).joined(separator: ", "))
            }
        }
        var headers: [String: String] = [:]
        if let table = reader.table(table, "extra_headers", at: path) {
            for (name, value) in table {
                if let text = value.stringValue {
                    headers[name] = reader.expand(text, at: "model.extra_headers.\(name)", required: true)
                } else {
                    reader.report("model.extra_headers.\(name)", "header values must be strings, found \(value.typeName)",
                                  hint: "write \(name) = \"value\"")
                }
            }
        }
        let baseURL = reader.string(table, "base_url", at: path, nonEmpty: true)
        if let baseURL, !(baseURL.hasPrefix("http://") || baseURL.hasPrefix("https://")) {
            reader.report("model.base_url", "base_url must start with http:// or https://",
                          hint: "give the base URL or the full chat-completions URL, e.g. https://openrouter.ai/api/v1")
        }
        if provider == .openaiCompatible && baseURL == nil {
            reader.report("model.provider", "provider openai-compatible needs a base_url", hint: "add base_url = \"https://host/v1\"")
        }
        if provider == .openaiCompatible && table["model"] == nil {
            reader.report("model.provider", "provider openai-compatible needs a model name", hint: "add model = \"…\"")
        }
        var settings = ModelSettings(
            provider: provider, baseURL: baseURL,
            model: reader.string(table, "model", at: path, nonEmpty: true),
            apiKeyEnv: reader.string(table, "api_key_env", at: path, nonEmpty: true),
            apiKeyFile: reader.string(table, "api_key_file", at: path, nonEmpty: true).map(reader.absolutePath),
            dialect: dialect, extraHeaders: headers,
            httpReferer: reader.string(table, "http_referer", at: path),
            xTitle: reader.string(table, "x_title", at: path),
            maxAttempts: reader.int(table, "max_attempts", at: path, range: 1...20) ?? 3,
            idleTimeoutSeconds: reader.double(table, "idle_timeout_seconds", at: path, range: 0...3_600, openLower: true) ?? 60,
            connectTimeoutSeconds: reader.double(table, "connect_timeout_seconds", at: path, range: 0...600, openLower: true) ?? 10,
            parameters: reader.modelOverrides(table, at: path))
        if settings.apiKeyFile != nil && table["api_key_env"] != nil {
            reader.report("model.api_key_file", "both api_key_env and api_key_file are set", hint: "keep only one of them")
        }
        resolveKey(&settings, reader, at: path)
        return settings
    }

    private func resolveKey(_ settings: inout ModelSettings, _ reader: SchemaReader, at path: String) {
        if let problem = resolveAPIKey(for: &settings, reader: reader, at: path) { reader.append(problem) }
    }

    func readStorage(_ root: [String: ConfigValue], _ reader: SchemaReader) -> StorageSettings {
        guard let table = reader.table(root, "storage", at: "") else {
            return StorageSettings(path: reader.absolutePath(StorageSettings.defaultRelativePath))
        }
        reader.checkKeys(table, at: "storage", known: ConfigSchema.storage)
        let path = reader.string(table, "path", at: "storage", nonEmpty: true)
        let url = reader.string(table, "url", at: "storage", nonEmpty: true)
        let callTimeout = reader.double(table, "call_timeout_seconds", at: "storage", range: 0...600, openLower: true) ?? 5
        if path != nil && url != nil {
            reader.report("storage.url", "both storage.path and storage.url are set", hint: "use path for SQLite or url for a database server, not both")
        }
        if let url {
            if !url.contains("://") {
                reader.report("storage.url", "storage.url is not a URL", hint: "write e.g. url = \"postgres://user@host/db\", or use path for SQLite")
            }
            return StorageSettings(url: reader.expand(url, at: "storage.url", required: true), callTimeoutSeconds: callTimeout)
        }
        return StorageSettings(path: reader.absolutePath(path ?? StorageSettings.defaultRelativePath), callTimeoutSeconds: callTimeout)
    }

    func readDefaults(_ root: [String: ConfigValue], _ reader: SchemaReader) -> DefaultsSettings {
        var defaults = DefaultsSettings()
        guard let table = reader.table(root, "defaults", at: "") else { return defaults }
        let path = "defaults"
        reader.checkKeys(table, at: path, known: ConfigSchema.defaults)
        if let prefix = reader.string(table, "command_prefix", at: path, nonEmpty: true) {
            if prefix.contains(where: \.isWhitespace) {
                reader.report("defaults.command_prefix", "command_prefix must not contain spaces", hint: "use e.g. \"!pb\"")
            } else {
                defaults.commandPrefix = prefix
            }
        }
        defaults.historyMessages = reader.int(table, "history_messages", at: path, range: 1...100_000) ?? defaults.historyMessages
        defaults.contextTokens = reader.int(table, "context_tokens", at: path, range: 4_096...65_536) ?? defaults.contextTokens
        defaults.safetyMarginTokens = reader.int(table, "safety_margin_tokens", at: path, range: 0...16_384) ?? defaults.safetyMarginTokens
        defaults.maxReplyCharacters = reader.int(table, "max_reply_characters", at: path, range: 1...100_000)
        defaults.catchUpWindowSeconds = reader.double(table, "catch_up_window_seconds", at: path, range: 0...604_800)
            ?? defaults.catchUpWindowSeconds
        if let trigger = reader.table(table, "trigger", at: path) {
            defaults.trigger = TriggerSettings.builtIn.applying(reader.triggerOverrides(trigger, at: "defaults.trigger"))
        }
        return defaults
    }

    func readAdmins(_ root: [String: ConfigValue], _ reader: SchemaReader) -> [String: PlatformAdmins] {
        guard let table = reader.table(root, "admins", at: "") else { return [:] }
        reader.checkKeys(table, at: "admins", known: ConfigSchema.platformNames)
        var admins: [String: PlatformAdmins] = [:]
        for platform in ConfigSchema.platformNames {
            guard let section = reader.table(table, platform, at: "admins") else { continue }
            let path = "admins.\(platform)"
            reader.checkKeys(section, at: path, known: ConfigSchema.admins)
            admins[platform] = PlatformAdmins(
                users: reader.strings(section, "users", at: path) ?? [],
                roles: reader.strings(section, "roles", at: path) ?? [],
                accounts: reader.strings(section, "accounts", at: path) ?? [])
        }
        return admins
    }

    func readOperations(_ root: [String: ConfigValue], _ reader: SchemaReader) -> OperationsSettings {
        var operations = OperationsSettings()
        guard let table = reader.table(root, "operations", at: "") else { return operations }
        let path = "operations"
        reader.checkKeys(table, at: path, known: ConfigSchema.operations)
        // `${POD_IP}:9464` binds the pod's own address only (Kubernetes sets POD_IP through the downward API);
        // without the variable the host is empty, which means loopback.
        operations.metricsAddress = reader.string(table, "metrics_address", at: path, nonEmpty: true)
            .map { reader.expand($0, at: "operations.metrics_address", required: false) }
        operations.metricsTokenFile = reader.string(table, "metrics_token_file", at: path, nonEmpty: true)
        if let address = operations.metricsAddress, OperationsSettings.parseAddress(address) == nil {
            reader.report("operations.metrics_address", "metrics_address '\(address)' is not HOST:PORT",
                          hint: "e.g. 127.0.0.1:9464 (loopback) or 0.0.0.0:9464 inside a container")
        }
        operations.shutdownGraceSeconds = reader.double(table, "shutdown_grace_seconds", at: path, range: 0...600)
            ?? operations.shutdownGraceSeconds
        operations.maxConcurrentRepliesPerChannel = reader.int(table, "max_concurrent_replies_per_channel", at: path,
                                                               range: 1...20) ?? operations.maxConcurrentRepliesPerChannel
        operations.promptRecordsPerChannel = reader.int(table, "prompt_records_per_channel", at: path, range: 1...1000)
            ?? operations.promptRecordsPerChannel
        operations.promptDumpDirectory = reader.string(table, "prompt_dump_dir", at: path, nonEmpty: true)
        if let format = reader.string(table, "log_format", at: path) {
            if ["text", "json", "auto"].contains(format) {
                operations.logFormat = format
            } else {
                reader.report("operations.log_format", "unknown log_format '\(format)'", hint: "use text, json or auto")
            }
        }
        if let level = reader.string(table, "log_level", at: path) {
            let levels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]
            if levels.contains(level) {
                operations.logLevel = level
            } else {
                reader.report("operations.log_level", "unknown log_level '\(level)'",
                              hint: SchemaReader.suggestion(for: level, among: levels).map { "did you mean '\($0)'?" }
                                ?? "use one of: \(levels.joined(separator: ", "))")
            }
        }
        operations.shardCount = reader.int(table, "shard_count", at: path, range: 1...1_024)
        operations.shardIndex = reader.int(table, "shard_index", at: path, range: 0...1_023)
        if let index = operations.shardIndex, index >= (operations.shardCount ?? 1) {
            reader.report("operations.shard_index", "shard_index \(index) must be below shard_count \(operations.shardCount ?? 1)",
                          hint: "shards are numbered 0..<shard_count")
        }
        return operations
    }

    func readBudgets(_ root: [String: ConfigValue], _ reader: SchemaReader) -> BudgetSettings {
        var budgets = BudgetSettings()
        guard let table = reader.table(root, "budgets", at: "") else { return budgets }
        let path = "budgets"
        reader.checkKeys(table, at: path, known: ConfigSchema.budgets)
        budgets.perUserTokensPerDay = reader.int(table, "per_user_tokens_per_day", at: path, range: 1...Int.max)
        budgets.perChannelTokensPerDay = reader.int(table, "per_channel_tokens_per_day", at: path, range: 1...Int.max)
        budgets.perServerTokensPerDay = reader.int(table, "per_server_tokens_per_day", at: path, range: 1...Int.max)
        budgets.noticeIntervalSeconds = reader.double(table, "notice_interval_seconds", at: path, range: 0...86_400)
            ?? budgets.noticeIntervalSeconds
        budgets.perUserMessagesPerMinute = reader.int(table, "per_user_messages_per_minute", at: path, range: 1...10_000)
        budgets.promptUSDPerMillion = reader.double(table, "prompt_usd_per_million", at: path, range: 0...1_000)
            ?? budgets.promptUSDPerMillion
        budgets.completionUSDPerMillion = reader.double(table, "completion_usd_per_million", at: path, range: 0...1_000)
            ?? budgets.completionUSDPerMillion
        budgets.cachedUSDPerMillion = reader.double(table, "cached_usd_per_million", at: path, range: 0...1_000)
            ?? budgets.cachedUSDPerMillion
        return budgets
    }

    func readPlatforms(_ root: [String: ConfigValue], _ reader: SchemaReader) -> [String: PlatformSettings] {
        guard let table = reader.table(root, "platforms", at: "") else { return [:] }
        reader.checkKeys(table, at: "platforms", known: ConfigSchema.platformNames)
        var platforms: [String: PlatformSettings] = [:]
        for platform in ConfigSchema.platformNames {
            guard let section = reader.table(table, platform, at: "platforms") else { continue }
            let path = "platforms.\(platform)"
            reader.checkKeys(section, at: path, known: ConfigSchema.platformKeys(platform))
            let enabled = reader.bool(section, "enabled", at: path) ?? true
            var settings = PlatformSettings(platform: platform, enabled: enabled)
            for (key, kind) in (ConfigSchema.platforms[platform] ?? [:]).sorted(by: { $0.key < $1.key }) where key != "enabled" {
                switch kind {
                case .secret:
                    if let secret = reader.secret(section, key, at: path, required: enabled) { settings.secrets[key] = secret }
                case .string:
                    if let text = reader.string(section, key, at: path) {
                        settings.values[key] = .string(reader.expand(text, at: SchemaReader.path(path, key), required: enabled))
                    }
                case .int:
                    let range: ClosedRange<Int> = key == "port" ? 1...65_535 : 0...Int.max
                    if let number = reader.int(section, key, at: path, range: range) { settings.values[key] = .int(number) }
                case .number:
                    if let number = reader.double(section, key, at: path, range: 0...Double.infinity) { settings.values[key] = .double(number) }
                case .bool:
                    if let flag = reader.bool(section, key, at: path) { settings.values[key] = .bool(flag) }
                case .strings:
                    if let items = reader.strings(section, key, at: path) { settings.values[key] = .array(items.map(ConfigValue.string)) }
                case .ints:
                    if let items = reader.ints(section, key, at: path) { settings.values[key] = .array(items.map(ConfigValue.int)) }
                case .relays:
                    if let relays = readRelays(section, key, reader, at: path) { settings.values[key] = relays }
                }
            }
            if enabled { checkPlatformEssentials(settings, section, reader, at: path) }
            if platform == "discord" { checkProxySettings(settings, reader, at: path) }
            platforms[platform] = settings
        }
        return platforms
    }

    /// The few keys an enabled adapter cannot start without.
    private func checkPlatformEssentials(_ settings: PlatformSettings, _ section: [String: ConfigValue], _ reader: SchemaReader, at path: String) {
        func require(_ key: String, _ hint: String) {
            if section[key] == nil && section[key + "_file"] == nil {
                reader.report(path, "[\(path)] is enabled but has no '\(key)'", hint: hint)
            }
        }
        switch settings.platform {
        case "discord":
            require("token", "add token = \"${DISCORD_TOKEN}\" or token_file = \"…\"")
        case "irc":
            require("host", "add host = \"irc.example.net\"")
            require("nick", "add nick = \"personabridge\"")
        case "matrix" where section["mode"]?.stringValue == "appservice":
            require("homeserver_url", "add homeserver_url = \"https://matrix.example.org\"")
            require("server_name", "add server_name = \"example.org\" (the part after ':' in your users' IDs)")
        case "matrix":
            require("homeserver_url", "add homeserver_url = \"https://matrix.example.org\"")
            require("user_id", "add user_id = \"@bot:example.org\"")
            if section["access_token"] == nil && section["access_token_file"] == nil
                && section["password"] == nil && section["password_file"] == nil {
                reader.report(path, "[\(path)] is enabled but has neither access_token nor password",
                              hint: "add access_token = \"${MATRIX_ACCESS_TOKEN}\" or password = \"${MATRIX_PASSWORD}\"")
            }
        default:
            break
        }
    }

    func readPersonas(_ root: [String: ConfigValue], _ reader: SchemaReader) -> LoadedPersonas {
        var result = LoadedPersonas()
        let configuredDir = reader.string(root, "personas_dir", at: "", nonEmpty: true)
        result.directory = reader.absolutePath(configuredDir ?? "personas")
        var files: [(path: String, keyPath: String?)] = []
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: result.directory, isDirectory: &isDirectory), isDirectory.boolValue {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: result.directory)) ?? []
            for name in names.sorted() where name.hasSuffix(".toml") && !name.hasPrefix(".") {
                files.append(((result.directory as NSString).appendingPathComponent(name), nil))
            }
            // Lorebooks written by `persona import` / `lore import` sit beside the personas.
            for name in names.sorted() where name.hasSuffix(".lore.json") && !name.hasPrefix(".") {
                let path = (result.directory as NSString).appendingPathComponent(name)
                checkLorebook(path: path).forEach(reader.append)
                if let data = FileManager.default.contents(atPath: path), let book = try? Lorebook.decode(json: data).book {
                    result.lorebooks[String(name.dropLast(".lore.json".count))] = book
                }
            }
        } else if configuredDir != nil {
            reader.report("personas_dir", "personas directory \(result.directory) does not exist",
                          hint: "create it or fix personas_dir (relative paths start at \(reader.baseDirectory))")
        }
        for (index, path) in (reader.strings(root, "persona_files", at: "") ?? []).enumerated() {
            let absolute = reader.absolutePath(path)
            if !files.contains(where: { $0.path == absolute }) { files.append((absolute, "persona_files[\(index)]")) }
        }
        for (path, keyPath) in files {
            if let keyPath, !FileManager.default.fileExists(atPath: path) {
                reader.report(keyPath, "persona file \(path) does not exist",
                              hint: "fix the path in persona_files (relative paths start at \(reader.baseDirectory))")
                continue
            }
            let outcome = loadPersona(path: path)
            outcome.diagnostics.forEach(reader.append)
            let stem = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
            guard let persona = outcome.persona else {
                result.failed.insert(stem)
                continue
            }
            if let existing = result.loaded[persona.name] {
                let source = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
                reader.append(ConfigDiagnostic(
                    file: path, line: TOMLLocator(source: source).line(of: "name"), keyPath: "name",
                    message: "duplicate persona name '\(persona.name)'",
                    hint: "also defined in \(existing.sourcePath ?? "another file"); give each persona a unique name"))
                continue
            }
            result.loaded[persona.name] = persona
        }
        return result
    }

    /// Warns when a binding or link names a platform that is disabled or has no section: its adapter never starts.
    static func warnUnlessStarted(_ platform: String, platforms: [String: PlatformSettings], _ reader: SchemaReader,
                                  at path: String, what: String, remedy: String) {
        if let settings = platforms[platform] {
            if !settings.enabled {
                reader.report(path, "\(what), which is disabled",
                              hint: "set enabled = true in [platforms.\(platform)] or \(remedy)", severity: .warning)
            }
        } else {
            reader.report(path, "\(what), but there is no [platforms.\(platform)] section",
                          hint: "add [platforms.\(platform)] so the adapter starts", severity: .warning)
        }
    }

    func readChannels(
        _ root: [String: ConfigValue], _ reader: SchemaReader, personas: LoadedPersonas,
        platforms: [String: PlatformSettings]
    ) -> [ChannelBinding] {
        var bindings: [ChannelBinding] = []
        var seen: [String: Int] = [:]
        for (path, table) in reader.arrayOfTables(root, "channels", known: ConfigSchema.channel, noun: "channel binding") {
            var valid = true
            let platformName = reader.platformName(table, at: path, noun: "channel binding")
            if platformName == nil { valid = false }
            let platform = platformName ?? ""
            let channel = reader.string(table, "channel", at: path, nonEmpty: true)
            if channel == nil {
                valid = false
                if table["channel"] == nil {
                    reader.report(path, "channel binding has no 'channel'", hint: "add channel = \"…\" (channel ID, #name or room ID)")
                }
            }
            var names = reader.strings(table, "personas", at: path) ?? []
            if table["personas"] == nil || (names.isEmpty && table["personas"]?.arrayValue != nil) {
                reader.report(table["personas"] == nil ? path : "\(path).personas", "channel binding names no personas",
                              hint: "add personas = [\"\(personas.loaded.keys.sorted().first ?? "name")\"]")
                valid = false
            }
            var unique: [String] = []
            for name in names where !unique.contains(name) { unique.append(name) }
            if unique.count != names.count {
                reader.report("\(path).personas", "a persona is listed twice", hint: "list each persona once", severity: .warning)
            }
            names = unique
            for name in names where personas.loaded[name] == nil && !personas.failed.contains(name) {
                valid = false
                let looked = (personas.directory as NSString).appendingPathComponent("\(name).toml")
                let available = personas.loaded.keys.sorted()
                let near = SchemaReader.suggestion(for: name, among: available).map { "did you mean '\($0)'? " } ?? ""
                reader.report("\(path).personas", "persona '\(name)' not found (looked for \(looked))",
                              hint: "\(near)available personas: \(available.isEmpty ? "none" : available.joined(separator: ", "))")
            }
            let trigger = reader.table(table, "trigger", at: path).map { reader.triggerOverrides($0, at: "\(path).trigger") } ?? .init()
            let server = reader.string(table, "server", at: path, nonEmpty: true)
            let scene = reader.string(table, "scene", at: path, nonEmpty: true)
            let key = reader.string(table, "key", at: path).map { reader.expand($0, at: "\(path).key", required: true) }
            let lorebooks = reader.lorebookNames(table, at: path, known: personas.lorebooks, directory: personas.directory)
            if lorebooks == nil { valid = false }
            let group = reader.sceneSettings(table, at: path, personaCount: names.count)
            guard valid, let channel else { continue }
            var binding = ChannelBinding(
                platform: platform, server: server, channel: channel, personas: names, trigger: trigger, scene: scene,
                key: key, line: reader.locator.line(of: path))
            binding.lorebooks = lorebooks ?? []
            binding.memoryEveryTokens = reader.int(table, "memory_every_tokens", at: path, range: Self.memoryEveryTokensRange)
            binding.memoryPrompt = reader.string(table, "memory_prompt", at: path, nonEmpty: true)
            binding.sceneSettings = group
            for name in names {
                guard let persona = personas.loaded[name] else { continue }
                for problem in Self.avatarProblems(persona, platform: platform, directory: personas.directory) {
                    reader.report("\(path).personas", problem.message, hint: problem.hint, severity: .warning)
                }
            }
            if let first = seen[binding.identity] {
                let firstLine = bindings[first].line.map { "line \($0)" } ?? "an earlier [[channels]]"
                reader.report(path, "duplicate binding for \(platform) channel '\(channel)'",
                              hint: "already bound at \(firstLine); list all personas in one binding")
                continue
            }
            Self.warnUnlessStarted(platform, platforms: platforms, reader, at: "\(path).platform", what: "binding for \(platform)",
                                   remedy: "remove this binding")
            seen[binding.identity] = bindings.count
            bindings.append(binding)
        }
        return bindings
    }

    /// Why the card image `N.png` that `persona import` wrote beside a persona cannot be shown as its avatar on
    /// `platform`; empty when it can or there is none.
    public static func avatarProblems(_ persona: Persona, platform: String, directory: String) -> [(message: String, hint: String)] {
        let image = (directory as NSString).appendingPathComponent("\(persona.name).png")
        let hasImage = FileManager.default.fileExists(atPath: image)
        guard hasImage else { return [] }
        switch platform {
        case "irc":
            return [("persona '\(persona.name)' has a card image (\(image)), but IRC cannot show avatars", "nothing to do; it shows on Discord with avatar_url")]
        case "discord" where persona.avatarURL == nil:
            return [("persona '\(persona.name)' has a card image (\(image)) but no avatar_url; Discord shows a per-message avatar only from a public URL",
                     "upload the image somewhere public and set avatar_url = \"https://…\" in the persona file")]
        case "matrix":
            return [("persona '\(persona.name)' has a card image (\(image)), but the bridge does not set Matrix profile avatars yet",
                     "set the bot account's avatar in a Matrix client; per-persona avatars come with the appservice mode")]
        default:
            return []
        }
    }
}

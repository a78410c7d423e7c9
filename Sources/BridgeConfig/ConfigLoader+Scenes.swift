import Foundation

extension ConfigLoader {
    /// `[[scenes]]`: each links channels on several platforms into one scene. A channel may be bound once: alone
    /// (`[[channels]]`) or in one scene, and a scene links each channel once.
    func readScenes(
        _ root: [String: ConfigValue], _ reader: SchemaReader, personas: LoadedPersonas,
        platforms: [String: PlatformSettings], channels: [ChannelBinding]
    ) -> [LinkedScene] {
        var scenes: [LinkedScene] = []
        // Where each linked channel was first seen: the scene's name and the line of its [[scenes]] header.
        var linked: [String: (scene: String, line: Int?)] = [:]
        var names: Set<String> = []
        for (path, table) in reader.arrayOfTables(root, "scenes", known: ConfigSchema.linkedScene, noun: "linked scene") {
            var valid = true
            let line = reader.locator.line(of: path)
            let name = reader.string(table, "name", at: path, nonEmpty: true)
            if name == nil {
                valid = false
                if table["name"] == nil { reader.report(path, "linked scene has no 'name'", hint: "add name = \"harbour\"") }
            }
            let label = name.map { "scene '\($0)'" } ?? "this scene"
            if let name {
                if names.contains(name) {
                    reader.report("\(path).name", "two [[scenes]] are named '\(name)'", hint: "give each linked scene its own name")
                    valid = false
                }
                names.insert(name)
            }
            var personaNames = reader.strings(table, "personas", at: path) ?? []
            if table["personas"] == nil || personaNames.isEmpty {
                reader.report(table["personas"] == nil ? path : "\(path).personas", "\(label) names no personas",
                              hint: "add personas = [\"\(personas.loaded.keys.sorted().first ?? "name")\"]")
                valid = false
            }
            var unique: [String] = []
            for persona in personaNames where !unique.contains(persona) { unique.append(persona) }
            personaNames = unique
            for persona in personaNames where personas.loaded[persona] == nil && !personas.failed.contains(persona) {
                valid = false
                let available = personas.loaded.keys.sorted()
                let near = SchemaReader.suggestion(for: persona, among: available).map { "did you mean '\($0)'? " } ?? ""
                reader.report("\(path).personas", "\(label): persona '\(persona)' not found",
                              hint: "\(near)available personas: \(available.isEmpty ? "none" : available.joined(separator: ", "))")
            }
            let links = readLinkedChannels(table, at: path, label: label, reader)
            if links == nil { valid = false }
            var kept: [LinkedScene.Channel] = []
            for (index, link) in (links ?? []).enumerated() {
                let at = "\(path).channels[\(index)]"
                if kept.contains(where: { $0.identity == link.identity }) {
                    reader.report(at, "\(label) links \(link.platform) channel '\(link.channel)' twice",
                                  hint: "list each channel once in channels = [...]")
                    valid = false
                    continue
                }
                if let bound = channels.first(where: { $0.identity == link.identity || Self.sameChannel($0, link) }) {
                    let place = bound.line.map { "line \($0)" } ?? "a [[channels]] section"
                    reader.report(at, "\(link.platform) channel '\(link.channel)' is bound alone ([[channels]] at \(place)) "
                                  + "and linked into \(label)",
                                  hint: "remove its [[channels]] binding: the scene's personas and settings apply there")
                    valid = false
                }
                if let first = linked.first(where: { $0.key == link.identity || Self.sameLink($0.key, link) })?.value {
                    let place = first.line.map { " (line \($0))" } ?? ""
                    reader.report(at, "\(link.platform) channel '\(link.channel)' is linked into scene '\(first.scene)'\(place) "
                                  + "and \(label)", hint: "a channel belongs to one scene; remove it from one of them")
                    valid = false
                }
                Self.warnUnlessStarted(link.platform, platforms: platforms, reader, at: "\(at).platform",
                                       what: "\(label) links \(link.platform)", remedy: "remove the channel")
                kept.append(link)
            }
            if let name { for link in kept where linked[link.identity] == nil { linked[link.identity] = (name, line) } }
            if links != nil, kept.count < 2 {
                reader.report("\(path).channels", "\(label) links \(kept.count == 1 ? "one channel" : "no channels")",
                              hint: "a linked scene joins two or more channels; bind a single channel with [[channels]]",
                              severity: kept.count == 1 ? .warning : .error)
                if kept.isEmpty { valid = false }
            }
            let trigger = reader.table(table, "trigger", at: path).map { reader.triggerOverrides($0, at: "\(path).trigger") } ?? .init()
            let lorebooks = reader.lorebookNames(table, at: path, known: personas.lorebooks, directory: personas.directory)
            if lorebooks == nil { valid = false }
            let group = reader.sceneSettings(table, at: path, personaCount: personaNames.count)
            let relay = reader.bool(table, "relay_humans", at: path) ?? false
            guard valid, let name else { continue }
            var scene = LinkedScene(name: name, channels: kept, personas: personaNames, relayHumans: relay, line: line)
            scene.trigger = trigger
            scene.lorebooks = lorebooks ?? []
            scene.memoryEveryTokens = reader.int(table, "memory_every_tokens", at: path, range: Self.memoryEveryTokensRange)
            scene.memoryPrompt = reader.string(table, "memory_prompt", at: path, nonEmpty: true)
            scene.sceneSettings = group
            scenes.append(scene)
        }
        return scenes
    }

    /// The `channels = [{platform = …, channel = …}, …]` of a scene; nil when the key is missing or not an array.
    private func readLinkedChannels(_ table: [String: ConfigValue], at path: String, label: String,
                                    _ reader: SchemaReader) -> [LinkedScene.Channel]? {
        guard let value = table["channels"] else {
            reader.report(path, "\(label) has no 'channels'",
                          hint: "add channels = [{platform = \"discord\", channel = \"…\"}, {platform = \"irc\", channel = \"#…\"}]")
            return nil
        }
        guard case .array(let items) = value else {
            reader.report("\(path).channels", "expected an array of {platform, channel} tables, found \(value.typeName)",
                          hint: "channels = [{platform = \"discord\", channel = \"…\"}, {platform = \"irc\", channel = \"#…\"}]")
            return nil
        }
        var links: [LinkedScene.Channel] = []
        var valid = true
        for (index, item) in items.enumerated() {
            let at = "\(path).channels[\(index)]"
            guard case .table(let entry) = item else {
                reader.report(at, "each linked channel must be a table, found \(item.typeName)",
                              hint: "write it as {platform = \"irc\", channel = \"#harbour\"}")
                valid = false
                continue
            }
            reader.checkKeys(entry, at: at, known: ConfigSchema.linkedChannel)
            let platform = reader.platformName(entry, at: at, noun: "linked channel")
            let channel = reader.string(entry, "channel", at: at, nonEmpty: true)
            if channel == nil, entry["channel"] == nil {
                reader.report(at, "linked channel has no 'channel'", hint: "add channel = \"…\" (channel ID, #name or room ID)")
            }
            guard let platform, let channel else {
                valid = false
                continue
            }
            let server = reader.string(entry, "server", at: at, nonEmpty: true)
            let key = reader.string(entry, "key", at: at).map { reader.expand($0, at: "\(at).key", required: true) }
            links.append(LinkedScene.Channel(platform: platform, server: server, channel: channel, key: key))
        }
        return valid ? links : nil
    }

    /// Whether a binding and a linked channel name the same channel: a side without a server matches any server,
    /// as the router's lookup does (it goes by platform and channel).
    static func sameChannel(_ binding: ChannelBinding, _ link: LinkedScene.Channel) -> Bool {
        binding.platform == link.platform && binding.channel == link.channel
            && (binding.server == nil || link.server == nil || binding.server == link.server)
    }

    private static func sameLink(_ identity: String, _ link: LinkedScene.Channel) -> Bool {
        let parts = identity.split(separator: "/", maxSplits: 2, omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 3 else { return false }
        return sameChannel(ChannelBinding(platform: parts[0], server: parts[1].isEmpty ? nil : parts[1], channel: parts[2],
                                          personas: []), link)
    }
}

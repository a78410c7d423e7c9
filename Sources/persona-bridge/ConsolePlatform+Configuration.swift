import BridgeConfig
import Foundation
import Logging
import PlatformConsole

extension ConsolePlatform {
    /// The console as `[platforms.console]` and the console channel binding describe it.
    convenience init(_ configuration: BridgeConfiguration, speaker: String?, logger: Logger) {
        let section = configuration.platforms["console"]
        let channel =
            section?.string("channel") ?? configuration.bindings(platform: "console").first?.channel ?? "console"
        let who = speaker ?? section?.string("speaker") ?? ProcessInfo.processInfo.environment["USER"] ?? "you"
        self.init(channelName: channel, speaker: who, logger: logger)
    }
}

extension PlatformFactory {
    /// The terminal adapter.
    static let console = PlatformFactory(name: "console") { configuration, _, logger in
        let console = ConsolePlatform(configuration, speaker: nil, logger: logger)
        return Built(platform: console, service: console)
    }
}

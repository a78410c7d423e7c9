import Foundation

extension ConfigLoader {
    /// `[platforms.discord] proxy_wait_ms`, `pluralkit_api`, `proxy_channels`: a wait long enough to matter but short
    /// enough that nobody waits a minute for an answer, an http(s) base URL, channel ids.
    func checkProxySettings(_ settings: PlatformSettings, _ reader: SchemaReader, at path: String) {
        if let wait = settings.int("proxy_wait_ms"), wait > PlatformSettings.maxProxyWaitMilliseconds {
            reader.report(SchemaReader.path(path, "proxy_wait_ms"),
                          "proxy_wait_ms = \(wait) is longer than \(PlatformSettings.maxProxyWaitMilliseconds) ms",
                          hint: "PluralKit and Tupperbox repost within about a second: 1500 (the default) is plenty; 0 turns the wait off")
        }
        if let base = settings.string("pluralkit_api") {
            let url = URL(string: base)
            if !(url?.scheme == "http" || url?.scheme == "https") || url?.host?.isEmpty != false {
                reader.report(SchemaReader.path(path, "pluralkit_api"), "pluralkit_api \"\(base)\" is not an http(s) URL",
                              hint: "use the base URL without /v2, e.g. \"\(PlatformSettings.defaultPluralKitAPI)\"")
            }
        }
        for channel in settings.strings("proxy_channels") ?? [] where channel.isEmpty || !channel.allSatisfy(\.isASCIIDigit) {
            reader.report(SchemaReader.path(path, "proxy_channels"), "proxy_channels: \"\(channel)\" is not a Discord channel id",
                          hint: "list channel ids (numbers), e.g. proxy_channels = [\"123456789012345678\"]")
        }
    }
}

extension PlatformSettings {
    /// The longest `proxy_wait_ms` accepted.
    public static let maxProxyWaitMilliseconds = 10_000
    /// PluralKit's public API, the default `pluralkit_api`.
    public static let defaultPluralKitAPI = "https://api.pluralkit.me"

    /// `proxy_wait_ms` (default 1,500; 0 disables the wait and proxy matching).
    public var proxyWaitMilliseconds: Int { int("proxy_wait_ms") ?? 1_500 }
    /// `pluralkit_api`, without a trailing slash.
    public var pluralKitAPI: String {
        var base = string("pluralkit_api") ?? Self.defaultPluralKitAPI
        while base.hasSuffix("/") { base.removeLast() }
        return base
    }
    /// `proxy_channels`: channels where proxies are known to post before any is seen there.
    public var proxyChannels: [String] { strings("proxy_channels") ?? [] }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}

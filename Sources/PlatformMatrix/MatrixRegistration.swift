import Foundation

/// The appservice registration file a homeserver loads through `app_service_config_files`.
///
/// Pure: `yaml` renders it; the tokens come from `MatrixAppserviceTokens`.
public struct MatrixRegistration: Sendable, Hashable {
    /// `id`.
    public var id: String
    /// `url`: where the homeserver sends transactions.
    public var url: String
    /// `as_token`.
    public var asToken: String
    /// `hs_token`.
    public var hsToken: String
    /// `sender_localpart`.
    public var senderLocalpart: String
    /// Persona users' localpart prefix; the namespace is `@<prefix>.*:<server>`, exclusive.
    public var userPrefix: String
    /// The homeserver's server name.
    public var serverName: String
    /// Whether `rate_limited: false` is written (the admin opted out of rate limits); otherwise the key is left
    /// out and the homeserver's limits apply.
    public var disableRateLimits: Bool

    /// Creates a registration.
    public init(id: String, url: String, asToken: String, hsToken: String, senderLocalpart: String, userPrefix: String,
                serverName: String, disableRateLimits: Bool = false) {
        self.id = id
        self.url = url
        self.asToken = asToken
        self.hsToken = hsToken
        self.senderLocalpart = senderLocalpart
        self.userPrefix = userPrefix
        self.serverName = serverName
        self.disableRateLimits = disableRateLimits
    }

    /// The exclusive user namespace regex, e.g. `@pb_.*:example\.org`.
    public var userRegex: String {
        "@" + Self.regexEscaped(userPrefix) + ".*:" + Self.regexEscaped(serverName)
    }

    /// The registration as YAML (every string double-quoted and escaped).
    public var yaml: String {
        var lines = [
            "# PersonaBridge application service registration, written by `persona-bridge matrix registration`.",
            "# Add this file's path to app_service_config_files in homeserver.yaml and restart the homeserver.",
            "# It holds both tokens: keep it readable only by the homeserver.",
            "id: \(Self.quoted(id))",
            "url: \(Self.quoted(url))",
            "as_token: \(Self.quoted(asToken))",
            "hs_token: \(Self.quoted(hsToken))",
            "sender_localpart: \(Self.quoted(senderLocalpart))",
            "namespaces:",
            "  users:",
            "    - exclusive: true",
            "      regex: \(Self.quoted(userRegex))",
            "  aliases: []",
            "  rooms: []",
        ]
        if disableRateLimits { lines.append("rate_limited: false") }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Escapes regex metacharacters.
    static func regexEscaped(_ text: String) -> String {
        var out = ""
        for character in text {
            if "\\^$.|?*+()[]{}".contains(character) { out.append("\\") }
            out.append(character)
        }
        return out
    }

    /// A YAML double-quoted scalar.
    static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    out += String(format: "\\x%02X", scalar.value)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}

/// A failure reading or writing appservice token files.
public struct MatrixAppserviceTokenError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The file concerned.
    public var path: String
    /// What went wrong.
    public var message: String

    /// `path: message`.
    public var description: String { "\(path): \(message)" }
}

/// The appservice's two tokens, kept in files readable only by the bridge's user (mode 0600).
public struct MatrixAppserviceTokens: Sendable, Hashable {
    /// Token the bridge presents to the homeserver.
    public var asToken: String
    /// Token the homeserver presents to the bridge.
    public var hsToken: String
    /// Whether this call generated them (the first run); a later run reuses the stored ones.
    public var created: Bool

    /// A new random token: 32 bytes from the system CSPRNG (getrandom on Linux), hex.
    public static func generate() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<32).map { _ in
            let byte = UInt8.random(in: 0...255, using: &generator)
            return String(byte, radix: 16).count == 1 ? "0" + String(byte, radix: 16) : String(byte, radix: 16)
        }.joined()
    }

    /// Reads both token files.
    public static func load(asTokenPath: String, hsTokenPath: String) throws -> MatrixAppserviceTokens {
        MatrixAppserviceTokens(asToken: try read(asTokenPath), hsToken: try read(hsTokenPath), created: false)
    }

    /// Reads both token files, or, when neither exists, generates both and writes them (0600). One file without
    /// the other is an error: the registration the homeserver holds would no longer match.
    public static func loadOrCreate(asTokenPath: String, hsTokenPath: String) throws -> MatrixAppserviceTokens {
        let manager = FileManager.default
        let asExists = manager.fileExists(atPath: asTokenPath)
        let hsExists = manager.fileExists(atPath: hsTokenPath)
        if asExists && hsExists { return try load(asTokenPath: asTokenPath, hsTokenPath: hsTokenPath) }
        if asExists != hsExists {
            let missing = asExists ? hsTokenPath : asTokenPath
            throw MatrixAppserviceTokenError(
                path: missing, message: "this token file is missing but its partner exists; restore it, or delete both to generate new tokens (then update the homeserver's registration)")
        }
        let tokens = MatrixAppserviceTokens(asToken: generate(), hsToken: generate(), created: true)
        try write(tokens.asToken, to: asTokenPath)
        try write(tokens.hsToken, to: hsTokenPath)
        return tokens
    }

    static func read(_ path: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw MatrixAppserviceTokenError(
                path: path, message: "cannot read the token file; run `persona-bridge matrix registration --config FILE` to generate the tokens")
        }
        let token = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !token.isEmpty else { throw MatrixAppserviceTokenError(path: path, message: "the token file is empty") }
        return token
    }

    /// Creates the file with mode 0600 from the start (never briefly world-readable); refuses to replace one.
    static func write(_ token: String, to path: String) throws {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                     attributes: [.posixPermissions: 0o700])
        }
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw MatrixAppserviceTokenError(path: path, message: "cannot create the token file: \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        let bytes = Array((token + "\n").utf8)
        let written = bytes.withUnsafeBytes { Foundation.write(fd, $0.baseAddress, $0.count) }
        guard written == bytes.count else {
            throw MatrixAppserviceTokenError(path: path, message: "cannot write the token file: \(String(cString: strerror(errno)))")
        }
    }
}

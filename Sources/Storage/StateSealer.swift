internal import CCrypto
import Foundation
import Synchronization

/// Why a sealed state value could not be used.
public struct StateSealerError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Error kind.
    public struct Code: Hashable, Sendable {
        /// Raw name.
        public let raw: String
        /// A sealed value is stored but no `PB_STATE_KEY` / `PB_STATE_KEY_FILE` is set.
        public static let keyMissing = Code(raw: "keyMissing")
        /// The value does not open with this key (another key, or the store was tampered with).
        public static let cannotOpen = Code(raw: "cannotOpen")
        /// `PB_STATE_KEY_FILE` could not be read, or the key is too short.
        public static let badKey = Code(raw: "badKey")
        /// libcrypto failed.
        public static let crypto = Code(raw: "crypto")
    }

    /// Error kind.
    public let code: Code
    /// What happened and what to do.
    public let message: String

    /// For logs.
    public var description: String { "StateSealerError(\(code.raw)): \(message)" }
}

/// Encrypts secrets the bridge keeps in its state table (Matrix access token, Discord webhook tokens) with
/// AES-256-GCM from libcrypto, under a key from `PB_STATE_KEY` or `PB_STATE_KEY_FILE`.
///
/// Sealed values read `pbenc1:<base64 nonce‖ciphertext‖tag>`; a value without the prefix is legacy plain text.
public struct StateSealer: Sendable {
    /// Prefix of a sealed value.
    public static let prefix = "pbenc1:"
    /// Shortest key material accepted.
    public static let minimumKeyLength = 16

    private let key: [UInt8]

    /// A sealer over the SHA-256 of `keyMaterial` (at least 16 characters).
    public init(keyMaterial: String) throws(StateSealerError) {
        let material = keyMaterial.trimmingCharacters(in: .whitespacesAndNewlines)
        guard material.utf8.count >= Self.minimumKeyLength else {
            throw StateSealerError(code: .badKey, message: "the state key must be at least \(Self.minimumKeyLength) characters; "
                + "use e.g. `openssl rand -base64 32`")
        }
        var digest = [UInt8](repeating: 0, count: 32)
        let bytes = Array(material.utf8)
        pb_sha256(bytes, bytes.count, &digest)
        key = digest
    }

    /// The sealer `PB_STATE_KEY` or `PB_STATE_KEY_FILE` describes, or nil when neither is set.
    public static func fromEnvironment(_ environment: [String: String]) throws(StateSealerError) -> StateSealer? {
        if let key = environment["PB_STATE_KEY"], !key.isEmpty { return try StateSealer(keyMaterial: key) }
        guard let path = environment["PB_STATE_KEY_FILE"], !path.isEmpty else { return nil }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw StateSealerError(code: .badKey, message: "PB_STATE_KEY_FILE \(path) cannot be read")
        }
        return try StateSealer(keyMaterial: text)
    }

    /// Whether a stored value is sealed.
    public static func isSealed(_ value: String) -> Bool { value.hasPrefix(prefix) }

    /// `plaintext` sealed under a fresh random nonce.
    public func seal(_ plaintext: String) throws(StateSealerError) -> String {
        let input = Array(plaintext.utf8)
        var nonce = [UInt8](repeating: 0, count: 12)
        guard pb_random_bytes(&nonce, 12) == 1 else { throw StateSealerError(code: .crypto, message: "no random bytes") }
        var output = [UInt8](repeating: 0, count: max(input.count, 1))
        var tag = [UInt8](repeating: 0, count: 16)
        guard pb_aes256gcm_seal(key, nonce, input, Int32(input.count), &output, &tag) == 1 else {
            throw StateSealerError(code: .crypto, message: "AES-256-GCM encryption failed")
        }
        return Self.prefix + Data(nonce + output.prefix(input.count) + tag).base64EncodedString()
    }

    /// The plaintext of a sealed value; throws when it does not open with this key.
    public func open(_ sealed: String) throws(StateSealerError) -> String {
        guard Self.isSealed(sealed), let data = Data(base64Encoded: String(sealed.dropFirst(Self.prefix.count))),
              data.count >= 28 else {
            throw StateSealerError(code: .cannotOpen, message: "the stored value is not a sealed secret")
        }
        let bytes = [UInt8](data)
        let nonce = Array(bytes[0..<12])
        let body = Array(bytes[12..<(bytes.count - 16)])
        let tag = Array(bytes[(bytes.count - 16)...])
        var output = [UInt8](repeating: 0, count: max(body.count, 1))
        guard pb_aes256gcm_open(key, nonce, body, Int32(body.count), tag, &output) == 1 else {
            throw StateSealerError(code: .cannotOpen, message: "a stored secret does not open with this PB_STATE_KEY "
                + "(another key, or the store was changed)")
        }
        return String(decoding: output.prefix(body.count), as: UTF8.self)
    }
}

/// The process's state key, set once at startup from the environment; platforms seal and open through it.
public enum StateSecrets {
    private static let current = Mutex<StateSealer?>(nil)

    /// The configured sealer, if any.
    public static var sealer: StateSealer? { current.withLock { $0 } }

    /// Sets (or clears) the process's sealer.
    public static func configure(_ sealer: StateSealer?) { current.withLock { $0 = sealer } }
}

extension Store {
    /// A secret kept in the state table: opened with the state key when sealed; a plain value left from before a key
    /// was configured is returned and sealed in place.
    public func secretState(for key: String, sealer: StateSealer? = StateSecrets.sealer) async throws -> String? {
        guard let stored = try await state(for: key) else { return nil }
        if StateSealer.isSealed(stored) {
            guard let sealer else {
                throw StateSealerError(code: .keyMissing, message: "state \(key) is encrypted but neither PB_STATE_KEY nor "
                    + "PB_STATE_KEY_FILE is set")
            }
            return try sealer.open(stored)
        }
        if let sealer { try await setState(try sealer.seal(stored), for: key) }
        return stored
    }

    /// Stores a secret in the state table, sealed when a state key is configured.
    public func setSecretState(_ value: String?, for key: String, sealer: StateSealer? = StateSecrets.sealer) async throws {
        try await setState(try value.map { v throws(StateSealerError) in try sealer?.seal(v) ?? v }, for: key)
    }
}

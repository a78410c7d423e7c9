import Foundation

extension ModelSession {
    /// The provider's own message from an error body (`error.message`, `base_resp.status_msg`,
    /// `message`, `detail`), else the start of the raw text, on one line.
    static func errorDetail(from body: [UInt8]) -> String? {
        guard !body.isEmpty else { return nil }
        if let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] {
            var parts: [String] = []
            if let error = object["error"] as? [String: Any] {
                if let message = error["message"] as? String { parts.append(message) }
                if let metadata = error["metadata"] as? [String: Any], let raw = metadata["raw"] as? String {
                    parts.append(raw)
                }
            } else if let error = object["error"] as? String {
                parts.append(error)
            }
            if let base = object["base_resp"] as? [String: Any], let message = base["status_msg"] as? String,
                !message.isEmpty
            {
                parts.append(message)
            }
            for key in ["message", "detail"] {
                if let message = object[key] as? String { parts.append(message) }
            }
            if !parts.isEmpty { return oneLine(parts.joined(separator: " — ")) }
        }
        return oneLine(String(decoding: body.prefix(300), as: UTF8.self))
    }

    /// The provider's error code from an error body, if any.
    static func providerCode(from body: [UInt8]) -> String? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else { return nil }
        if let error = object["error"] as? [String: Any] {
            if let code = error["code"] as? Int { return String(code) }
            if let code = error["code"] as? String { return code }
        }
        if let base = object["base_resp"] as? [String: Any], let code = base["status_code"] as? Int, code != 0 {
            return String(code)
        }
        return nil
    }

    /// Whether a 400 body says a message role was not accepted (only meaningful if extra roles were sent).
    static func rejectsRole(body: [UInt8], sentExtensionRoles: Set<ChatRole>) -> Bool {
        guard !sentExtensionRoles.isEmpty else { return false }
        let text = String(decoding: body, as: UTF8.self).lowercased()
        guard text.contains("role") else { return false }
        if sentExtensionRoles.contains(where: { text.contains($0.rawValue.lowercased()) }) { return true }
        let phrases = [
            "invalid role", "unsupported role", "unknown role", "role must", "not supported", "must be one of",
            "unknown variant", "invalid value", "not a valid",
        ]
        return phrases.contains { text.contains($0) }
    }

    private static func oneLine(_ text: String) -> String {
        let flat = text.split(whereSeparator: \.isNewline).joined(separator: " ")
        return flat.count > 400 ? String(flat.prefix(400)) + "…" : flat
    }
}

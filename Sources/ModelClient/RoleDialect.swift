/// How M2-her's extra roles are sent.
public enum RoleDialect: String, Hashable, Sendable, CaseIterable, Codable {
    /// Every role goes out unchanged.
    case native = "native"
    /// Extra roles are folded into the system text (see `RoleFolding`).
    case folded = "folded"
    /// Native first; after a 400 that rejects a role, folded, remembered per provider and base URL.
    case auto = "auto"
}

extension BridgeCommand {
    /// The reply control a reaction stands for, on every platform that has reactions (emoji presentation
    /// selectors ignored): 🔁 regenerate, ⏹ stop, ◀ ▶ flip, ➡ continue.
    public static func replyControl(forReaction key: String) -> BridgeCommand? {
        switch String(key.unicodeScalars.filter { $0.value != 0xFE0F }.map(Character.init)) {
        case "🔁": .regenerate
        case "⏹": .stop
        case "◀": .previousAlternative
        case "▶": .nextAlternative
        case "➡": .continueReply
        default: nil
        }
    }
}

import BridgeCore
import Foundation

extension DiscordMessageBuilder {
    /// The `custom_id` prefix of the bridge's buttons.
    static let controlPrefix = "pb:"

    struct Button: Encodable {
        var type = 2
        var style: Int
        var label: String
        var custom_id: String
        var disabled: Bool?
    }
    struct Row: Encodable {
        var type = 1
        var components: [Button]
    }
    struct ControlsBody: Encodable {
        var components: [Row]
        var allowed_mentions = AllowedMentions()
    }
    struct FollowupBody: Encodable {
        var content: String
        var flags: Int?
        var allowed_mentions = AllowedMentions()
    }
    struct AttachmentRef: Encodable {
        var id: Int
        var filename: String
    }
    struct FileCallbackData: Encodable {
        var content: String
        var flags: Int?
        var attachments: [AttachmentRef]
        var allowed_mentions = AllowedMentions()
    }
    struct FileCallback: Encodable { var type: Int; var data: FileCallbackData }

    private static func encodeJSON(_ value: some Encodable) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding plain strings and numbers cannot fail.
        return Array((try? encoder.encode(value)) ?? Data())
    }

    /// The buttons for a reply's controls: stop while streaming; else ◀ counter ▶ (with alternatives),
    /// regenerate and continue.
    static func controlRows(_ state: ReplyControlState) -> [Row] {
        if state.streaming {
            return [Row(components: [Button(style: 4, label: "⏹ Stop", custom_id: controlPrefix + "stop")])]
        }
        var buttons: [Button] = []
        if state.count > 1 {
            buttons.append(Button(style: 2, label: "◀", custom_id: controlPrefix + "prev", disabled: state.shown <= 1 ? true : nil))
            buttons.append(Button(style: 2, label: "\(state.shown)/\(state.count)", custom_id: controlPrefix + "count",
                                  disabled: true))
            buttons.append(Button(style: 2, label: "▶", custom_id: controlPrefix + "next",
                                  disabled: state.shown >= state.count ? true : nil))
        }
        buttons.append(Button(style: 1, label: "🔁 Regenerate", custom_id: controlPrefix + "regenerate"))
        buttons.append(Button(style: 2, label: "➡ Continue", custom_id: controlPrefix + "continue"))
        return [Row(components: buttons)]
    }

    /// Body that sets (or with nil removes) a message's buttons, leaving its text.
    public static func controls(_ state: ReplyControlState?) -> [UInt8] {
        encodeJSON(ControlsBody(components: state.map(controlRows) ?? []))
    }

    /// The bridge command a button stands for, or nil for a button that is not the bridge's.
    public static func command(forButton customID: String) -> BridgeCommand? {
        guard customID.hasPrefix(controlPrefix) else { return nil }
        switch customID.dropFirst(controlPrefix.count) {
        case "regenerate": return .regenerate
        case "continue": return .continueReply
        case "stop": return .stop
        case "prev": return .previousAlternative
        case "next": return .nextAlternative
        default: return nil
        }
    }

    /// Interaction callback type 6: a button press acknowledged, the message updated later (or not at all).
    public static let componentAcknowledgement: [UInt8] = Array(#"{"type":6}"#.utf8)

    /// Body for an interaction follow-up (`POST /webhooks/{app}/{token}`), ephemeral when asked.
    public static func followup(content: String, ephemeral: Bool) -> [UInt8] {
        encodeJSON(FollowupBody(content: MaskedLink.defused(String(content.prefix(2000))), flags: ephemeral ? 64 : nil))
    }

    /// A multipart/form-data body: `payload_json` plus the file as `files[0]`; returns the body and its
    /// Content-Type header value.
    public static func multipart(payload: [UInt8], file: InteractionAttachment) -> (body: [UInt8], contentType: String) {
        let boundary = "pb-" + UUID().uuidString
        var body: [UInt8] = []
        func add(_ text: String) { body.append(contentsOf: Array(text.utf8)) }
        add("--\(boundary)\r\nContent-Disposition: form-data; name=\"payload_json\"\r\nContent-Type: application/json\r\n\r\n")
        body.append(contentsOf: payload)
        let filename = file.filename.filter { $0 != "\"" && $0 != "\r" && $0 != "\n" }
        add("\r\n--\(boundary)\r\nContent-Disposition: form-data; name=\"files[0]\"; filename=\"\(filename)\"\r\n")
        add("Content-Type: \(file.contentType)\r\n\r\n")
        body.append(contentsOf: file.contents)
        add("\r\n--\(boundary)--\r\n")
        return (body, "multipart/form-data; boundary=\(boundary)")
    }

    /// Interaction callback type 4 carrying a file (the payload for `multipart`).
    public static func interactionReply(content: String, ephemeral: Bool, filename: String) -> [UInt8] {
        encodeJSON(FileCallback(type: 4, data: FileCallbackData(
            content: MaskedLink.defused(String(content.prefix(2000))), flags: ephemeral ? 64 : nil,
            attachments: [AttachmentRef(id: 0, filename: filename)])))
    }

    /// The edit of a deferred answer carrying a file (the payload for `multipart`).
    public static func editWithFile(content: String, filename: String) -> [UInt8] {
        encodeJSON(FileCallbackData(content: MaskedLink.defused(String(content.prefix(2000))), flags: nil,
                                    attachments: [AttachmentRef(id: 0, filename: filename)]))
    }
}

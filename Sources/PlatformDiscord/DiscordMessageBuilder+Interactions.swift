import Foundation
import BridgeCore

extension DiscordMessageBuilder {
    struct CallbackData: Encodable {
        var content: String?
        var flags: Int?
        var allowed_mentions = AllowedMentions()
    }
    struct Callback: Encodable { var type: Int; var data: CallbackData }

    private static func encodeAny(_ value: some Encodable) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array((try? encoder.encode(value)) ?? Data())
    }

    /// Interaction callback type 4 (answer now); `ephemeral` shows it only to the invoking user.
    public static func interactionReply(content: String, ephemeral: Bool) -> [UInt8] {
        encodeAny(Callback(type: 4, data: CallbackData(content: content, flags: ephemeral ? 64 : nil)))
    }

    /// Interaction callback type 5 (deferred; the answer follows by editing `@original`).
    public static func interactionDefer(ephemeral: Bool) -> [UInt8] {
        encodeAny(Callback(type: 5, data: CallbackData(content: nil, flags: ephemeral ? 64 : nil)))
    }

    /// Body for `POST /channels/{c}/webhooks`; `avatarPNG` becomes the webhook's picture (a data URI).
    public static func createWebhook(name: String, avatarPNG: [UInt8]? = nil) -> [UInt8] {
        guard let avatarPNG else { return encodeAny(["name": name]) }
        return encodeAny(["name": name, "avatar": "data:image/png;base64," + Data(avatarPNG).base64EncodedString()])
    }

    /// The bridge's slash commands, for `PUT …/commands`.
    public static let slashCommands: [UInt8] = {
        struct Option: Encodable {
            var type: Int
            var name: String
            var description: String
            var required: Bool?
            var options: [Option]?
            var min_value: Double?
            var max_value: Double?
            var max_length: Int?
        }
        struct Command: Encodable {
            var name: String
            var description: String
            var options: [Option]?
            var type = 1
        }
        let nameOption = Option(type: 3, name: "name", description: "Persona name", required: true)
        let everywhereOption = Option(type: 5, name: "everywhere", description: "For every channel on Discord, not only this one",
                                      required: false)
        let persona = Command(name: "persona", description: "Show or change the personas of this channel", options: [
            Option(type: 1, name: "list", description: "Personas that can be bound"),
            Option(type: 1, name: "show", description: "Personas bound here"),
            Option(type: 1, name: "set", description: "Bind only this persona here", options: [nameOption]),
            Option(type: 1, name: "add", description: "Add a persona here", options: [nameOption]),
            Option(type: 1, name: "remove", description: "Remove a persona here", options: [nameOption]),
            Option(type: 1, name: "off", description: "No persona answers here"),
            Option(type: 1, name: "import", description: "Import a character card (PNG, JSON or CHARX) and bind it here", options: [
                Option(type: 11, name: "card", description: "The card file (at most 8 MiB)", required: true),
            ]),
        ])
        return encodeAny([
            persona,
            Command(name: "reset", description: "Forget this channel's history"),
            Command(name: "regenerate", description: "Replace the last reply"),
            Command(name: "continue", description: "Continue the last reply"),
            Command(name: "talkativeness", description: "How often personas speak unaddressed (0 to 1)", options: [
                Option(type: 10, name: "value", description: "0 = only when addressed, 1 = always", required: true,
                       min_value: 0, max_value: 1),
            ]),
            Command(name: "status", description: "Bridge status for this channel"),
            Command(name: "budget", description: "Token spend and what is left (moderators)"),
            Command(name: "why", description: "The prompt behind a reply, with its tokens and cost (moderators)", options: [
                Option(type: 4, name: "n", description: "1 = the last reply, 2 = the one before, …", required: false,
                       min_value: 1, max_value: 50),
            ]),
            Command(name: "stop", description: "Stop the reply being written"),
            Command(name: "me", description: "The character you play", options: [
                Option(type: 1, name: "set", description: "Play a character here (or everywhere on Discord)", options: [
                    Option(type: 3, name: "name", description: "Your character's name", required: true),
                    Option(type: 3, name: "description", description: "Who your character is (at most 2,000 characters)", required: true),
                    everywhereOption,
                ]),
                Option(type: 1, name: "show", description: "The character you play here"),
                Option(type: 1, name: "clear", description: "Stop playing your character here (or everywhere)", options: [everywhereOption]),
            ]),
            Command(name: "next", description: "Make a persona of this scene speak next", options: [nameOption]),
            Command(name: "scene", description: "Run a roleplay scene in a thread of its own (moderators)", options: [
                Option(type: 1, name: "start", description: "Open a thread for a new scene", options: [
                    Option(type: 3, name: "title", description: "The scene's title (the thread's name)", required: true,
                           max_length: SceneCommand.maximumTitleLength),
                    Option(type: 3, name: "personas", description: "Personas in the scene, separated by spaces (default: this channel's)",
                           required: false),
                ]),
                Option(type: 1, name: "end", description: "Summarise the scene into memory, then archive and lock its thread"),
            ]),
        ])
    }()
}

extension DiscordInteraction {
    /// The bridge command this slash command stands for, or a parse error text.
    public var bridgeCommand: Result<BridgeCommand, SlashCommandError> {
        func option(_ name: String, in options: [Option]) -> String? { options.first { $0.name == name }?.value }
        switch commandName {
        case "persona":
            guard let sub = options.first else { return .success(.personaShow) }
            let name = option("name", in: sub.options) ?? ""
            switch sub.name {
            case "list": return .success(.personaList)
            case "show": return .success(.personaShow)
            case "off": return .success(.personaOff)
            case "import":
                // The option's value is an attachment id; the file itself is in `resolved`.
                let card = option("card", in: sub.options).flatMap { resolvedAttachments[$0] }
                return .success(.personaImport(card.map {
                    ChatAttachment(url: $0.url, filename: $0.filename, size: $0.size, contentType: $0.contentType)
                }))
            case "set", "add", "remove":
                guard !name.isEmpty else { return .failure(SlashCommandError(message: "Give a persona name.")) }
                return .success(sub.name == "set" ? .personaSet(name) : sub.name == "add" ? .personaAdd(name) : .personaRemove(name))
            default: return .failure(SlashCommandError(message: "Unknown persona subcommand \(sub.name)."))
            }
        case "me":
            guard let sub = options.first else { return .success(.me(.show)) }
            let everywhere = ["true", "1"].contains(option("everywhere", in: sub.options) ?? "")
            switch sub.name {
            case "show": return .success(.me(.show))
            case "clear": return .success(.me(.clear(everywhere: everywhere)))
            case "set":
                switch (PlayerCommand.sanitizedName(option("name", in: sub.options) ?? ""),
                        PlayerCommand.sanitizedDescription(option("description", in: sub.options) ?? "")) {
                case (.failure(let error), _), (_, .failure(let error)): return .failure(SlashCommandError(message: error.message))
                case (.success(let name), .success(let description)):
                    return .success(.me(.set(name: name, description: description, everywhere: everywhere)))
                }
            default: return .failure(SlashCommandError(message: "Unknown me subcommand \(sub.name)."))
            }
        case "reset": return .success(.reset)
        case "regenerate": return .success(.regenerate)
        case "continue": return .success(.continueReply)
        case "status": return .success(.status)
        case "budget": return .success(.budget)
        case "stop": return .success(.stop)
        case "next":
            guard let name = option("name", in: options), !name.isEmpty else {
                return .failure(SlashCommandError(message: "Give a persona name."))
            }
            return .success(.scene(.next(name)))
        case "scene":
            guard let sub = options.first else { return .success(.scene(.show)) }
            switch sub.name {
            case "end": return .success(.scene(.end))
            case "start":
                return SceneCommand.start(title: option("title", in: sub.options) ?? "", personas: option("personas", in: sub.options) ?? "",
                                          prefix: "/scene")
                    .mapError { SlashCommandError(message: $0.message) }
            default: return .failure(SlashCommandError(message: "Unknown scene subcommand \(sub.name)."))
            }
        case "why":
            let n = option("n", in: options).map { Int($0) ?? Int(Double($0) ?? 0) } ?? 1
            guard n >= 1 else { return .failure(SlashCommandError(message: "N is 1 for the last reply, 2 for the one before, …")) }
            return .success(.why(n))
        case "talkativeness":
            guard let value = option("value", in: options).flatMap(Double.init), value >= 0, value <= 1 else {
                return .failure(SlashCommandError(message: "Talkativeness is a number from 0 to 1."))
            }
            return .success(.talkativeness(value))
        default:
            return .failure(SlashCommandError(message: "Unknown command \(commandName ?? "?")."))
        }
    }
}

/// A slash command that does not map to a bridge command.
public struct SlashCommandError: Error, Hashable, Sendable {
    /// Text for the user.
    public var message: String
}

/// A PRIVMSG/NOTICE body classified for Core: plain text, action, notice, or a CTCP request to answer.
public struct IRCIncomingText: Hashable, Sendable {
    /// What kind of body it is.
    public enum Kind: Hashable, Sendable {
        /// Ordinary PRIVMSG text.
        case message
        /// CTCP ACTION (/me).
        case action
        /// NOTICE text (never answered, per RFC).
        case notice
        /// Any other CTCP request (VERSION, PING, …); not history.
        case ctcp(IRCCTCP)
    }

    /// Body kind.
    public let kind: Kind
    /// Sender nick.
    public let sender: String
    /// Target (channel or our nick).
    public let target: String
    /// Text with formatting codes stripped, for history.
    public let text: String

    /// Classifies a PRIVMSG or NOTICE; nil for other commands or missing params.
    public init?(_ message: IRCMessage) {
        guard message.command == "PRIVMSG" || message.command == "NOTICE", message.params.count >= 2 else { return nil }
        sender = message.prefix?.nick ?? ""
        target = message.params[0]
        let body = message.params[1]
        if let ctcp = IRCCTCP(parsing: body) {
            if ctcp.isAction {
                kind = .action
                text = IRCFormatting.strip(ctcp.argument)
            } else if message.command == "NOTICE" {
                kind = .notice
                text = IRCFormatting.strip(ctcp.framed.filter { $0 != "\u{01}" })
            } else {
                kind = .ctcp(ctcp)
                text = ctcp.argument
            }
        } else {
            kind = message.command == "NOTICE" ? .notice : .message
            text = IRCFormatting.strip(body)
        }
    }
}

extension IncomingMessage {
    /// The author under the name the message is credited to (a PluralKit member's): same id, so budgets, players and
    /// permissions still go by the real user, while `{{user}}` names the member.
    public var speaker: ChatUser {
        var user = author
        if let creditedName { user.displayName = creditedName }
        return user
    }
}

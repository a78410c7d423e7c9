import BridgeCore
import Testing

@Suite struct CopyOnWriteTests {
    @Test func copiesShareTheValueUntilOneChanges() {
        let original = CopyOnWrite(["a", "b"])
        var copy = original
        #expect(copy == original)
        copy.value.append("c")
        #expect(original.value == ["a", "b"], "the change stays with the copy that made it")
        #expect(copy.value == ["a", "b", "c"])
        #expect(copy != original)
        var again = copy
        again.value.removeLast()
        #expect(again == original && again.hashValue == original.hashValue, "equal values are equal in separate boxes")
    }

    @Test func aMessageCopyChangesAloneToo() {
        let channel = ChannelRef(platform: "discord", channelID: "1")
        let message = IncomingMessage(channel: channel, author: ChatUser(id: "u", displayName: "U"), messageID: "m", text: "hi")
        var edited = message
        edited.text = "changed"
        edited.author.displayName = "V"
        #expect(message.text == "hi" && message.author.displayName == "U")
        #expect(edited.text == "changed" && edited.author.displayName == "V" && edited.channel == channel)
        #expect(edited != message)
    }
}

import Testing
@testable import SocketTransport

@Suite("WebSocketURL")
struct WebSocketURLTests {
    @Test("parses scheme, host, port, path and query")
    func parses() throws {
        let url = try #require(WebSocketURL("wss://gateway.discord.gg/?v=10&encoding=json"))
        #expect(url.secure && url.host == "gateway.discord.gg" && url.port == 443)
        #expect(url.pathAndQuery == "/?v=10&encoding=json")
        let plain = try #require(WebSocketURL("ws://127.0.0.1:8080/a/b?c=d#frag"))
        #expect(!plain.secure && plain.host == "127.0.0.1" && plain.port == 8080 && plain.pathAndQuery == "/a/b?c=d")
        let v6 = try #require(WebSocketURL("ws://[::1]:9000"))
        #expect(v6.host == "::1" && v6.port == 9000 && v6.pathAndQuery == "/")
        let query = try #require(WebSocketURL("ws://host?x=1"))
        #expect(query.pathAndQuery == "/?x=1" && query.port == 80)
    }

    @Test("rejects other schemes and bad ports")
    func rejects() {
        #expect(WebSocketURL("http://host/") == nil)
        #expect(WebSocketURL("ws://") == nil)
        #expect(WebSocketURL("ws://host:0/") == nil)
        #expect(WebSocketURL("ws://host:99999/") == nil)
        #expect(WebSocketURL("ws://host:abc/") == nil)
    }
}

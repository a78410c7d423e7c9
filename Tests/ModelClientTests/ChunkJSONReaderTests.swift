import Testing

@testable import ModelClient

@Suite struct ChunkJSONReaderTests {
    private func read(_ text: String) throws -> WireChunk {
        try ChunkJSONReader.read(Array(text.utf8))
    }

    @Test func decodesEscapesAndSurrogatePairs() throws {
        let chunk = try read(#"{"choices":[{"delta":{"content":"a\"b\\c\/d\n\t\u00e9\ud83d\udc4b\ud800x"}}]}"#)
        #expect(chunk.choice?.deltaContent == "a\"b\\c/d\n\té👋\u{FFFD}x")
        #expect(chunk.choice?.hasDelta == true)
    }

    @Test func skipsUnknownFieldsOfEveryShape() throws {
        let chunk = try read(
            #"""
             { "id" : "x", "nested": {"a": [1, -2.5e3, true, false, null, {"b": "}]\"["}]}, "choices" : [
               {"index": 0, "logprobs": null, "delta": {"role": "assistant", "content": "hi", "extra": [[]]},
                "finish_reason": null},
               {"delta": {"content": "second choice is ignored"}}
             ], "usage": null }
            """#)
        #expect(chunk.choice?.deltaContent == "hi")
        #expect(chunk.choice?.finishReason == nil)
        #expect(chunk.usage == nil)
    }

    @Test func readsUsageErrorAndMiniMaxFields() throws {
        let chunk = try read(
            #"{"choices":[],"usage":{"prompt_tokens":12,"completion_tokens":3.0,"total_tokens":15,"prompt_tokens_details":{"cached_tokens":8}},"error":{"code":"server_error","message":"boom","metadata":{"raw":1}},"base_resp":{"status_code":1004,"status_msg":"auth"},"input_sensitive":0,"output_sensitive":true}"#)
        #expect(chunk.choice == nil)
        #expect(chunk.usage?.promptTokens == 12)
        #expect(chunk.usage?.completionTokens == 3)
        #expect(chunk.usage?.cachedTokens == 8)
        #expect(chunk.error?.code == "server_error")
        #expect(chunk.error?.numericCode == nil)
        #expect(chunk.error?.message == "boom")
        #expect(chunk.baseResp?.statusCode == 1004)
        #expect(chunk.baseResp?.statusMsg == "auth")
        #expect(!chunk.inputSensitive)
        #expect(chunk.outputSensitive)
        #expect(try read(#"{"error":{"code":429}}"#).error?.numericCode == 429)
        #expect(try read(#"{"error":"plain"}"#).error?.message == "plain")
        #expect(try read(#"{"error":null}"#).error == nil)
    }

    @Test func wrongTypesReadAsAbsent() throws {
        let chunk = try read(#"{"choices":[{"delta":{"content":42},"finish_reason":7}],"usage":{"prompt_tokens":"x"}}"#)
        #expect(chunk.choice?.deltaContent == nil)
        #expect(chunk.choice?.finishReason == nil)
        #expect(chunk.usage?.promptTokens == nil)
    }

    @Test(arguments: [
        "", "{", "{not json", #"{"a":}"#, #"{"a":1,}"#, #"{"a":1} x"#, "[1]x", #"{"a":"unterminated}"#,
        #"{"a":tru}"#, #"{"a":"\x"}"#, "{\"a\":\"line\nbreak\"}", #"{"a":-}"#, #"{"a" 1}"#,
    ])
    func rejectsMalformedJSON(text: String) {
        #expect(throws: ChunkJSONReader.Failure.self) { try read(text) }
    }
}

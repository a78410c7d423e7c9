import Testing

@testable import ModelClient

@Suite struct ModelStreamDecoderTests {
    private static let context = ModelErrorContext(
        provider: .openrouter, model: "minimax/minimax-m2-her", keySource: .environment("OPENROUTER_API_KEY"))

    /// Feeds `chunks` then ends the stream, returning every action.
    static func run(_ chunks: [ArraySlice<UInt8>]) -> [ModelStreamDecoder.Action] {
        var decoder = ModelStreamDecoder(context: context)
        var actions: [ModelStreamDecoder.Action] = []
        for chunk in chunks { actions += decoder.feed(chunk) }
        actions += decoder.endOfStream()
        return actions
    }

    static func run(_ text: String) -> [ModelStreamDecoder.Action] {
        run([ArraySlice(Array(text.utf8))])
    }

    @Test(arguments: StreamCorpus.all.map(\.name))
    func everySplitGivesIdenticalEvents(name: String) {
        let text = StreamCorpus.all.first { $0.name == name }!.text
        let bytes = Array(text.utf8)
        let whole = Self.run([bytes[...]])
        #expect(!whole.isEmpty)
        for cut in 0...bytes.count {
            let split = Self.run([bytes[0..<cut], bytes[cut...]])
            if split != whole {
                Issue.record("\(name): split at \(cut) gave \(split), whole gave \(whole)")
                return
            }
        }
        // Byte-at-a-time and three-way splits too.
        #expect(Self.run(bytes.map { [$0][...] }) == whole)
        for cut in stride(from: 0, to: bytes.count, by: 7) {
            let second = min(bytes.count, cut + 13)
            #expect(Self.run([bytes[0..<cut], bytes[cut..<second], bytes[second...]]) == whole)
        }
    }

    @Test func openRouterStream() {
        #expect(Self.run(StreamCorpus.openRouter) == StreamCorpus.openRouterExpected)
        #expect(Self.run(StreamCorpus.crlf(StreamCorpus.openRouter)) == StreamCorpus.openRouterExpected)
        #expect(Self.run(StreamCorpus.cr(StreamCorpus.openRouter)) == StreamCorpus.openRouterExpected)
    }

    @Test func miniMaxStreamWithoutDoneAndRepeatedMessage() {
        #expect(Self.run(StreamCorpus.miniMaxNative) == StreamCorpus.miniMaxExpected)
    }

    @Test func multiLineDataAndNamedEvents() {
        #expect(Self.run(StreamCorpus.multiLine) == StreamCorpus.multiLineExpected)
    }

    @Test func errorObjectAfter200KeepsPartialText() throws {
        let actions = Self.run(StreamCorpus.midStreamError)
        #expect(actions.count == 3)
        #expect(actions.prefix(2) == [.emit(.delta("one ")), .emit(.delta("two"))])
        guard case .fail(let error) = actions.last else {
            Issue.record("expected a failure, got \(actions)")
            return
        }
        #expect(error.code == .serverError)
        #expect(error.partialText == "one two")
        #expect(error.providerCode == "502")
        #expect(error.message.contains("Provider disconnected"))
    }

    @Test func baseRespNonZeroIsAnError() {
        let actions = Self.run(StreamCorpus.baseRespError)
        guard case .fail(let error) = actions.last else {
            Issue.record("expected a failure, got \(actions)")
            return
        }
        #expect(error.code == .rateLimited)
        #expect(error.providerCode == "1002")
        #expect(error.partialText == "x")
        #expect(error.message.contains("rate limit exceeded"))
    }

    @Test func sensitiveOutputIsAContentFilterFinish() {
        #expect(Self.run(StreamCorpus.sensitiveOutput) == [.emit(.finish(.contentFilter)), .complete])
    }

    @Test func streamWithoutDoneOrFinishIsTruncated() {
        let actions = Self.run(StreamCorpus.truncatedStream)
        #expect(actions.prefix(2) == [.emit(.delta("cut ")), .emit(.delta("off"))])
        guard case .fail(let error) = actions.last else {
            Issue.record("expected truncated, got \(actions)")
            return
        }
        #expect(error.code == .truncated)
        #expect(error.partialText == "cut off")
        guard case .fail(let empty) = Self.run("").last else {
            Issue.record("an empty stream must fail")
            return
        }
        #expect(empty.code == .truncated && empty.partialText.isEmpty)
    }

    @Test func finishWithoutDoneCompletesAtEnd() {
        let text = #"data: {"choices":[{"delta":{"content":"a"},"finish_reason":"stop"}]}"# + "\n\n"
        #expect(Self.run(text) == [.emit(.delta("a")), .emit(.finish(.stop)), .complete])
    }

    @Test func unknownFinishReasonIsKept() {
        let text = #"data: {"choices":[{"delta":{},"finish_reason":"tool_calls"}]}"# + "\n\ndata: [DONE]\n\n"
        #expect(Self.run(text) == [.emit(.finish(.unknown("tool_calls"))), .complete])
    }

    @Test func invalidJSONFailsWithPartialText() {
        let text = #"data: {"choices":[{"delta":{"content":"ok"}}]}"# + "\n\ndata: {not json\n\n"
        let actions = Self.run(text)
        guard case .fail(let error) = actions.last else {
            Issue.record("expected failure, got \(actions)")
            return
        }
        #expect(error.code == .invalidResponse)
        #expect(error.partialText == "ok")
    }

    @Test func nonStreamingBodyGivesTheSameEvents() {
        let body = #"""
            {"id":"x","choices":[{"index":0,"message":{"role":"assistant","content":"Whole reply"},"finish_reason":"stop"}],
             "usage":{"prompt_tokens":10,"completion_tokens":2,"total_tokens":12,"prompt_tokens_details":{"cached_tokens":4}},
             "base_resp":{"status_code":0,"status_msg":"success"}}
            """#
        var decoder = ModelStreamDecoder()
        #expect(decoder.decodeBody(Array(body.utf8)) == [
            .emit(.delta("Whole reply")), .emit(.finish(.stop)),
            .emit(.usage(TokenUsage(promptTokens: 10, completionTokens: 2, cachedTokens: 4))), .complete,
        ])
        var failing = ModelStreamDecoder()
        let actions = failing.decodeBody(Array(#"{"base_resp":{"status_code":1004,"status_msg":"login fail"}}"#.utf8))
        guard case .fail(let error) = actions.last else {
            Issue.record("expected failure, got \(actions)")
            return
        }
        #expect(error.code == .unauthorized)
    }

    @Test func errorMessagesNameWhatToFix() {
        let unauthorized = ModelError.forFailure(code: .unauthorized, detail: "bad key", status: 401, context: Self.context)
        #expect(unauthorized.message.contains("OPENROUTER_API_KEY"))
        let credits = ModelError.forFailure(code: .paymentRequired, detail: nil, status: 402, context: Self.context)
        #expect(credits.message.contains("credits"))
        let bad = ModelError.forFailure(code: .badRequest, detail: nil, status: 400, context: Self.context)
        #expect(bad.message.contains("minimax/minimax-m2-her"))
        #expect(bad.message.contains("temperature"))
    }
}

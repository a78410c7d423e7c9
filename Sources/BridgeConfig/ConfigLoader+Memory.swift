extension ConfigLoader {
    /// The range `every_tokens` may take: a summary request sends that much transcript, which with its prompt and
    /// output must fit M2-her's 65,536-token window.
    static let memoryEveryTokensRange = 500...48_000

    func readMemory(_ root: [String: ConfigValue], _ reader: SchemaReader) -> MemorySettings {
        var memory = MemorySettings()
        guard let table = reader.table(root, "memory", at: "") else { return memory }
        let path = "memory"
        reader.checkKeys(table, at: path, known: ConfigSchema.memory)
        memory.enabled = reader.bool(table, "enabled", at: path) ?? memory.enabled
        memory.everyTokens = reader.int(table, "every_tokens", at: path, range: Self.memoryEveryTokensRange) ?? memory.everyTokens
        memory.maxTokens = reader.int(table, "max_tokens", at: path, range: 200...16_000) ?? memory.maxTokens
        memory.summaryTokens = reader.int(table, "summary_tokens", at: path, range: 64...2_048) ?? memory.summaryTokens
        memory.prompt = reader.string(table, "prompt", at: path, nonEmpty: true) ?? memory.prompt
        memory.foldPrompt = reader.string(table, "fold_prompt", at: path, nonEmpty: true) ?? memory.foldPrompt
        if memory.summaryTokens * 2 > memory.maxTokens {
            reader.report("memory.summary_tokens", "summary_tokens \(memory.summaryTokens) is more than half of max_tokens \(memory.maxTokens)",
                          hint: "two summaries would already fill the memory and every new one would be folded at once; "
                              + "raise max_tokens or lower summary_tokens", severity: .warning)
        }
        if memory.maxTokens > 8_000 {
            reader.report("memory.max_tokens", "max_tokens \(memory.maxTokens) takes a large share of the ~62,000-token prompt",
                          hint: "the memory block is sent with every reply and pushes recent history out; 1,000–4,000 is usual",
                          severity: .warning)
        }
        if memory.everyTokens < memory.summaryTokens * 2 {
            reader.report("memory.every_tokens", "every_tokens \(memory.everyTokens) is less than twice summary_tokens",
                          hint: "summaries would be nearly as long as what they summarise; raise every_tokens", severity: .warning)
        }
        return memory
    }
}

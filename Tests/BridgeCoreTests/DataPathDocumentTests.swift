import Foundation
import PBTestSupport
import Testing

/// `Sources/README.md` names the type and file of every hop of the data path; it must stay true.
@Suite struct DataPathDocumentTests {
    static let document = RepoPaths.root.appendingPathComponent("Sources/README.md")

    /// Every "`Type` (Module/File.swift)" pair in the document.
    static func namedTypes() throws -> [(type: String, file: String)] {
        let text = try String(contentsOf: document, encoding: .utf8)
        let pattern = try NSRegularExpression(pattern: #"`([A-Za-z][A-Za-z0-9]*)` \(([A-Za-z0-9_+\-]+/[A-Za-z0-9_+\-]+\.swift)\)"#)
        return pattern.matches(in: text, range: NSRange(text.startIndex..., in: text)).map { match in
            (String(text[Range(match.range(at: 1), in: text)!]), String(text[Range(match.range(at: 2), in: text)!]))
        }
    }

    @Test func everyNamedTypeIsDeclaredInItsFile() throws {
        let named = try Self.namedTypes()
        #expect(named.count >= 15, "the data path names too few types: \(named.count)")
        for (type, file) in named {
            let url = RepoPaths.root.appendingPathComponent("Sources").appendingPathComponent(file)
            guard let source = try? String(contentsOf: url, encoding: .utf8) else {
                Issue.record("Sources/\(file), named for \(type), does not exist")
                continue
            }
            let declaration = try NSRegularExpression(
                pattern: #"(class|struct|enum|actor|protocol|extension|typealias) \#(type)\b"#)
            #expect(declaration.firstMatch(in: source, range: NSRange(source.startIndex..., in: source)) != nil,
                    "Sources/\(file) does not declare \(type)")
        }
    }

    @Test func socketToModelRequestTakesAtMostFourHops() throws {
        let text = try String(contentsOf: Self.document, encoding: .utf8)
        guard let start = text.range(of: "## Socket to model request"),
              let end = text.range(of: "\n## ", range: start.upperBound..<text.endIndex)
        else {
            Issue.record("Sources/README.md has no section 'Socket to model request'")
            return
        }
        let hops = text[start.upperBound..<end.lowerBound].split(separator: "\n").filter { $0.first?.isNumber == true }
        #expect((1...4).contains(hops.count), "\(hops.count) hops listed")
        #expect(hops.first?.contains("socket") == true)
        #expect(hops.last?.contains("model request") == true)
    }
}

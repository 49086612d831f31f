import Foundation
import RelayConfig
import Testing

/// Every TOML example in the README and the docs is a valid configuration (a fragment without a
/// `[[listener]]` table is checked with one added, and `key = "…"` stands for a key), so that what a
/// user copies works.
@Suite("TOML examples in README.md and docs/")
struct DocumentationConfigTests {
    /// The package root.
    static let root = URL(fileURLWithPath: ExampleConfigTests.packageRoot)

    /// The documents with TOML examples.
    static let documents = ["README.md", "docs/METRICS.md", "docs/PATH-MANAGER.md", "packaging/tproxy/README.md"]

    /// Each ```toml block of each document: where it starts and its text.
    static let examples: [String] = documents.flatMap { document -> [String] in
        guard let text = try? String(contentsOf: root.appendingPathComponent(document), encoding: .utf8) else {
            return ["\(document): unreadable"]
        }
        var blocks: [String] = []
        var current: [Substring]?
        var startLine = 0
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            if current == nil, line.trimmingCharacters(in: .whitespaces) == "```toml" {
                current = []
                startLine = number + 1
            } else if current != nil, line.trimmingCharacters(in: .whitespaces) == "```" {
                blocks.append("\(document):\(startLine)\n" + current!.joined(separator: "\n"))
                current = nil
            } else if current != nil {
                current!.append(line)
            }
        }
        return blocks
    }

    @Test("the documents hold TOML examples")
    func found() {
        #expect(Self.examples.count >= 6, "\(Self.examples.count) examples")
    }

    @Test("every TOML example is a valid configuration", arguments: examples)
    func valid(_ example: String) {
        let (place, body) =
            example.firstIndex(of: "\n").map {
                (String(example[..<$0]), String(example[example.index(after: $0)...]))
            } ?? (example, "")
        // `key = "…"` stands for the reader's own key (from mptcp-relay keygen): put a valid one there.
        let keyed = body.replacingOccurrences(of: "key = \"…\"", with: "key = \"\(exampleKey)\"")
        let text = keyed.contains("[[listener]]") ? keyed : keyed + "\n" + validForward
        do {
            _ = try ConfigLoader.parse(text, file: place)
        } catch {
            Issue.record("\(place): the example is not a valid configuration:\n\(error)")
        }
    }
}

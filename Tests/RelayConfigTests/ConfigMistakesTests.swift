import Foundation
import RelayConfig
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// What people get wrong in a config file, one row each: the file, line and key `check-config` names, and
/// what it says to do. A row fails when the mistake is accepted, or reported elsewhere or otherwise.
@Suite("check-config: the mistakes people make, each with file:line:key and what to do")
struct ConfigMistakesTests {
    /// A mistake (appended to a valid forward listener unless it brings its own) and the error it gives.
    struct Mistake: Sendable, CustomStringConvertible {
        var what: String
        var text: String
        var expected: String
        var description: String { what }
    }

    static let mistakes: [Mistake] = [
        Mistake(
            what: "an unknown key, with a did-you-mean",
            text: "[runtime]\nworkerz = 2\n" + validForward,
            expected: "m.toml:2: runtime.workerz: unknown key; did you mean \"workers\"?"
        ),
        Mistake(
            what: "a value of the wrong type",
            text: "[runtime]\nworkers = \"two\"\n" + validForward,
            expected: "m.toml:2: runtime.workers: expected an integer, found string \"two\""
        ),
        Mistake(
            what: "a bad address",
            text: validForward.replacingOccurrences(of: "198.18.1.2:8443", with: "198.18.1.2"),
            expected:
                "m.toml:5: listener[1].upstream: \"198.18.1.2\" is not an endpoint; expected ADDRESS:PORT or [IPv6]:PORT"
        ),
        Mistake(
            what: "two listeners with one name",
            text: validForward + "\n" + validForward.replacingOccurrences(of: "8000", with: "8001"),
            expected: "m.toml:8: listener[2].name: \"lan\" is already the name of listener[1]; names must be unique"
        ),
        Mistake(
            what: "two listeners on one address",
            text: validForward + "\n" + validForward.replacingOccurrences(of: "\"lan\"", with: "\"lan2\""),
            expected:
                "m.toml:10: listener[2].listen: 198.18.0.1:8000 is already the listen endpoint of listener[1]; each listener needs its own"
        ),
        Mistake(
            what: "a policy naming a path that does not exist",
            text: validForward
                + "\n[[path]]\nname = \"dsl\"\nsource = \"198.18.1.1\"\n[[policy]]\nname = \"p\"\npaths = [\"dls\"]\n",
            expected: "m.toml:12: policy[1].paths[1]: no [[path]] is named \"dls\"; did you mean \"dsl\"?"
        ),
        Mistake(
            what: "the metrics port on a listener's address",
            text: validForward + "\n[metrics]\nlisten = \"198.18.0.1:8000\"\n",
            expected: "m.toml:8: metrics.listen: 198.18.0.1:8000 is already the listen endpoint of listener[1]"
        ),
    ]

    @Test("each mistake gives its error", arguments: mistakes)
    func mistake(_ mistake: Mistake) {
        let errors = configErrors(mistake.text, file: "m.toml").map(\.description)
        #expect(errors.contains(mistake.expected), "\(mistake.what): \(errors)")
    }

    @Test("a key file readable by others is refused, naming it and the chmod that fixes it")
    func looseKeyFile() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mr-mistake-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let key = directory.appendingPathComponent("open.key")
        try (exampleKey + "\n").write(to: key, atomically: true, encoding: .utf8)
        chmod(key.path, 0o644)
        let errors = configErrors(
            validForward + "\nclient = \"home\"\nkey_file = \"\(key.path)\"\n",
            file: directory.appendingPathComponent("m.toml").path
        ).map(\.description)
        #expect(
            errors.contains { $0.contains("readable by group or others (mode 644); run chmod 600 \(key.path)") },
            "\(errors)"
        )
    }

    @Test("a path naming an interface this host lacks is a warning, not an error (it may come later)")
    func missingInterface() throws {
        let configuration = try ConfigLoader.parse(
            validForward + "\n[[path]]\nname = \"lte\"\ninterface = \"mrnosuch0\"\n",
            file: "m.toml"
        )
        #expect(
            configuration.warnings.map(\.description) == [
                "m.toml:9: path[1].interface: no interface \"mrnosuch0\" on this host (yet): the path stays down until it appears"
            ]
        )
        let present = try ConfigLoader.parse(
            validForward + "\n[[path]]\nname = \"l\"\ninterface = \"lo\"\n",
            file: "m.toml"
        )
        #expect(present.warnings.isEmpty)
    }
}

import Foundation
import Testing

extension NetworkTestSuites {

    /// The binary's command line as a user meets it: help, check-config's exit codes and messages.
    @Suite("Command line", .serialized, .timeLimit(.minutes(1)))
    struct CommandLineTests {
        private func relay(_ arguments: [String]) async throws -> ShellResult {
            let script = "\"$0\" \"$@\"; status=$?; echo \"exit=$status\"; exit 0"
            return try await ShellCommand.run(
                ["bash", "-c", script, NetworkTestEnvironment.relayBinary.path] + arguments,
                seconds: 30
            )
        }

        @Test("--help explains run and check-config")
        func help() async throws {
            let result = try await relay(["--help"])
            #expect(result.stdout.contains("run"))
            #expect(result.stdout.contains("check-config"))
            #expect(result.stdout.contains("exit=0"))
        }

        @Test("--version prints the version and the commit (unknown unless the build baked one in)")
        func version() async throws {
            let result = try await relay(["--version"])
            let line = result.stdout.split(separator: "\n").first.map(String.init) ?? ""
            let pattern = #/[0-9]+\.[0-9]+\.[0-9]+ \(commit ([0-9a-f]{4,40}(-dirty)?|unknown)\)/#
            #expect(line.wholeMatch(of: pattern) != nil, "--version printed \(result.stdout)")
            #expect(result.stdout.contains("exit=0"))
        }

        @Test(
            "check-config accepts every shipped example",
            arguments: [
                "config/gateway.toml", "config/gateway-transparent.toml", "config/gateway-paths.toml",
                "config/server.toml",
            ]
        )
        func examplesAreValid(_ file: String) async throws {
            let path = NetworkTestEnvironment.packageRoot.appendingPathComponent(file).path
            let result = try await relay(["check-config", path])
            #expect(result.stdout.contains("exit=0"), "\(result.stderr)")
        }

        @Test("keygen prints a fresh key and lines that make a valid converter and gateway")
        func keygen() async throws {
            let first = try await relay(["keygen", "--name", "home"])
            let second = try await relay(["keygen", "--key-only"])
            #expect(first.stdout.contains("exit=0") && second.stdout.contains("exit=0"))
            let keyLines = first.stdout.split(separator: "\n").filter { $0.hasPrefix("key = ") }
            #expect(keyLines.count == 2 && keyLines[0] == keyLines[1] && keyLines[0].count == 52, "\(first.stdout)")
            let onlyKey = second.stdout.split(separator: "\n").first.map(String.init) ?? ""
            #expect(onlyKey.count == 44 && !first.stdout.contains(onlyKey), "two keygen runs gave the same key")

            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mr-cli-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            let lines = first.stdout.split(separator: "\n", omittingEmptySubsequences: false)
            let gatewayStart = try #require(lines.firstIndex { $0.hasPrefix("# On the gateway") })
            let converter = directory.appendingPathComponent("srv.toml")
            try
                ("[[listener]]\nname = \"c\"\nrole = \"convert\"\nlisten = \"0.0.0.0:8443\"\n\n"
                + lines[..<gatewayStart].joined(separator: "\n")).write(
                    to: converter,
                    atomically: true,
                    encoding: .utf8
                )
            let gateway = directory.appendingPathComponent("gw.toml")
            try
                ("[[listener]]\nname = \"lan\"\nrole = \"forward\"\nlisten = \"198.18.0.1:8000\"\n"
                + "upstream = \"198.18.1.2:8443\"\ndestination = \"198.19.0.2:5201\"\n"
                + lines[gatewayStart...].filter { !$0.hasPrefix("#") && !$0.hasPrefix("exit=") }.joined(separator: "\n"))
                .write(to: gateway, atomically: true, encoding: .utf8)
            for file in [converter, gateway] {
                let check = try await relay(["check-config", file.path])
                #expect(check.stdout.contains("exit=0"), "\(file.lastPathComponent): \(check.stderr)")
            }
        }

        @Test(
            "a file that crashes the TOML parser gets a message naming it, not an abort",
            arguments: ["[[=\n", "a = [\"x\", }\n"]
        )
        func parserCrashIsAnError(_ text: String) async throws {
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mr-cli-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            let file = directory.appendingPathComponent("crash.toml")
            try text.write(to: file, atomically: true, encoding: .utf8)
            let check = try await relay(["check-config", file.path])
            #expect(check.stdout.contains("exit=1"), "check-config: \(check.stdout) \(check.stderr)")
            #expect(check.stderr.contains("\(file.path): the TOML parser"), "\(check.stderr)")
            let run = try await relay(["run", "--config", file.path])
            #expect(run.stdout.contains("exit=2"), "run: \(run.stdout) \(run.stderr)")
            #expect(run.stderr.contains("\(file.path): the TOML parser"), "\(run.stderr)")
        }

        @Test("check-config names file, line and key of each error and exits non-zero")
        func errorsNameFileLineAndKey() async throws {
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mr-cli-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            let file = directory.appendingPathComponent("bad.toml")
            try """
            [runtime]
            workers = 0

            [[listener]]
            name = "lan"
            role = "forward"
            listen = "198.18.0.1:8000"
            upstream = "198.18.1.2"
            destination = "198.19.0.2:5201"
            """.write(to: file, atomically: true, encoding: .utf8)
            let result = try await relay(["check-config", file.path])
            #expect(result.stdout.contains("exit=1"))
            #expect(result.stderr.contains("\(file.path):2: runtime.workers:"), "\(result.stderr)")
            #expect(result.stderr.contains("\(file.path):8: listener[1].upstream:"), "\(result.stderr)")
        }

        @Test("run refuses a bad file before opening anything, with the same messages")
        func runRefusesBadFile() async throws {
            let result = try await relay(["run", "--config", "/nonexistent/mptcp-relay.toml"])
            #expect(result.stdout.contains("exit=2"))
            #expect(result.stderr.contains("/nonexistent/mptcp-relay.toml"))
        }
    }
}

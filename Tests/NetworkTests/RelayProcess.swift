import Foundation

/// One `mptcp-relay run` inside a network namespace, with its config and its log (stderr) in the
/// test's scratch directory.
final class RelayProcess {
    let name: String
    let configURL: URL
    let child: ChildProcess

    /// Writes `config` and starts the relay in `namespace` with `--log-level logLevel` (debug unless said
    /// otherwise), behind `wrapper` (a command that runs the rest, e.g. `prlimit --nofile=64 --`) when one
    /// is given.
    init(
        name: String,
        namespace: String,
        binary: URL,
        config: String,
        directory: URL,
        wrapper: [String] = [],
        logLevel: String = "debug"
    ) throws {
        self.name = name
        self.configURL = directory.appendingPathComponent("\(name).toml")
        try config.write(to: configURL, atomically: true, encoding: .utf8)
        self.child = try ChildProcess(
            ["ip", "netns", "exec", namespace] + wrapper + [
                binary.path, "run", "--config", configURL.path, "--log-level", logLevel,
            ],
            name: name,
            directory: directory
        )
    }

    /// Everything the relay logged so far.
    var log: String { child.stderr }

    /// Waits until the relay listens on `port`, failing early (with its log) if it exits first.
    func waitListening(on port: Int, in topology: Topology, namespace: String, seconds: Double = 15) async throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            guard child.isRunning else {
                throw ShellCommandError(command: child.command, reason: "relay \(name) exited early", output: log)
            }
            if (try? await topology.waitListening(namespace, port: port, seconds: 1)) != nil { return }
        }
        throw ShellCommandError(command: child.command, reason: "relay \(name) not listening on \(port)", output: log)
    }

    /// Waits (bounded) until the log holds a line containing every one of `fragments`.
    func waitForLogLine(containing fragments: [String], seconds: Double = 10) async throws -> Bool {
        try await countLogLines(containing: fragments, atLeast: 1, seconds: seconds) >= 1
    }

    /// Waits (bounded) until `count` log lines contain every one of `fragments` and none of `excluded`;
    /// returns how many did when it stopped waiting.
    func countLogLines(
        containing fragments: [String],
        excluding excluded: [String] = [],
        atLeast count: Int,
        seconds: Double = 10
    ) async throws -> Int {
        let deadline = Date().addingTimeInterval(seconds)
        var seen = 0
        repeat {
            seen =
                log.split(separator: "\n").filter { line in
                    fragments.allSatisfy { line.contains($0) } && !excluded.contains { line.contains($0) }
                }
                .count
            if seen >= count { return seen }
            try await Task.sleep(nanoseconds: 100_000_000)
        } while Date() < deadline
        return seen
    }

    /// Stops the relay (SIGTERM, then SIGKILL).
    func stop() async {
        await child.stop()
    }
}

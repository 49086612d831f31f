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
        let deadline = Date().addingTimeInterval(seconds)
        repeat {
            let lines = log.split(separator: "\n")
            if lines.contains(where: { line in fragments.allSatisfy { line.contains($0) } }) { return true }
            try await Task.sleep(nanoseconds: 100_000_000)
        } while Date() < deadline
        return false
    }

    /// Stops the relay (SIGTERM, then SIGKILL).
    func stop() async {
        await child.stop()
    }
}

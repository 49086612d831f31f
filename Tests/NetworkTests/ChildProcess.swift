import Foundation
import RelayCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A child process whose standard output and error go to files, so that nothing blocks on a full
/// pipe; every wait on it is bounded, and `stop()` ends it by its own process id. Started with
/// posix_spawn (`ChildSpawn`), not Foundation's Process, whose `run()` crashed CI twice (a read past a
/// buffer while it lists /proc/self/fd: swift-corelibs-foundation PR 5472, not in Swift 6.3.1).
final class ChildProcess {
    let command: [String]
    let stdoutURL: URL
    let stderrURL: URL
    /// The child's process id.
    let processIdentifier: Int32
    /// How it ended, once reaped.
    private var exit: ChildExit?

    /// Starts `command` (looked up in PATH through /usr/bin/env) with output files in `directory`.
    init(_ command: [String], name: String, directory: URL, environment: [String: String]? = nil) throws {
        self.command = command
        self.stdoutURL = directory.appendingPathComponent("\(name).stdout")
        self.stderrURL = directory.appendingPathComponent("\(name).stderr")
        let input = open("/dev/null", O_RDONLY | O_CLOEXEC)
        let output = open(stdoutURL.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        let error = open(stderrURL.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        defer { for fd in [input, output, error] where fd >= 0 { close(fd) } }
        guard input >= 0, output >= 0, error >= 0 else {
            throw ShellCommandError(
                command: command,
                reason: "cannot create output files in \(directory.path): \(String(cString: strerror(errno)))",
                output: ""
            )
        }
        // `ip`, `tc` and `ss` live in /usr/sbin, which a non-login PATH may lack.
        var merged = ProcessInfo.processInfo.environment.merging(environment ?? [:]) { _, new in new }
        let path = merged["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        merged["PATH"] = path + ":/usr/local/sbin:/usr/sbin:/sbin"
        processIdentifier = try ChildSpawn.start(
            "/usr/bin/env",
            command,
            environment: merged,
            input: input,
            output: output,
            error: error
        )
    }

    deinit {
        // Reap a child that ended, so that no zombie stays behind (a running one is the harness's to stop).
        if exit == nil { _ = ChildSpawn.reap(processIdentifier, wait: false) }
    }

    var isRunning: Bool {
        if exit == nil { exit = ChildSpawn.reap(processIdentifier, wait: false) }
        return exit == nil
    }

    /// Standard output so far.
    var stdout: String { (try? String(contentsOf: stdoutURL, encoding: .utf8)) ?? "" }
    /// Standard error so far.
    var stderr: String { (try? String(contentsOf: stderrURL, encoding: .utf8)) ?? "" }

    /// Waits at most `seconds` for the process to exit; returns its exit status (the signal's number when
    /// a signal ended it, as Foundation's Process did), or nil on timeout.
    func wait(seconds: Double) async throws -> Int32? {
        let deadline = Date().addingTimeInterval(seconds)
        while isRunning {
            if Date() >= deadline { return nil }
            try await Task.sleep(nanoseconds: 50_000_000)
        }
        switch exit {
        case .exited(let status): return status
        case .signalled(let signal): return signal
        case .lost: return -1
        case nil: return nil
        }
    }

    /// Sends SIGTERM, waits up to `grace` seconds, then SIGKILL; always returns with the child gone.
    func stop(grace: Double = 5) async {
        guard isRunning else { return }
        kill(processIdentifier, SIGTERM)
        if (try? await wait(seconds: grace)) != nil { return }
        kill(processIdentifier, SIGKILL)
        _ = try? await wait(seconds: 5)
    }

    /// Waits up to `seconds` for a zero exit status and throws with the output otherwise.
    @discardableResult
    func expectSuccess(seconds: Double) async throws -> ShellResult {
        guard let status = try await wait(seconds: seconds) else {
            await stop()
            throw ShellCommandError(command: command, reason: "still running after \(seconds)s", output: stderr)
        }
        let result = ShellResult(status: status, stdout: stdout, stderr: stderr)
        guard status == 0 else {
            throw ShellCommandError(command: command, reason: "exit status \(status)", output: stdout + stderr)
        }
        return result
    }
}

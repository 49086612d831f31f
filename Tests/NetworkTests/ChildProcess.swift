import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A child process whose standard output and error go to files, so that nothing blocks on a full
/// pipe; every wait on it is bounded, and `stop()` ends it by its own process id.
final class ChildProcess {
    let command: [String]
    let stdoutURL: URL
    let stderrURL: URL
    private let process = Process()

    /// Starts `command` (looked up in PATH through /usr/bin/env) with output files in `directory`.
    init(_ command: [String], name: String, directory: URL, environment: [String: String]? = nil) throws {
        self.command = command
        self.stdoutURL = directory.appendingPathComponent("\(name).stdout")
        self.stderrURL = directory.appendingPathComponent("\(name).stderr")
        guard FileManager.default.createFile(atPath: stdoutURL.path, contents: nil),
            FileManager.default.createFile(atPath: stderrURL.path, contents: nil)
        else {
            throw ShellCommandError(
                command: command,
                reason: "cannot create output files in \(directory.path)",
                output: ""
            )
        }
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = command
        // `ip`, `tc` and `ss` live in /usr/sbin, which a non-login PATH may lack.
        var merged = ProcessInfo.processInfo.environment.merging(environment ?? [:]) { _, new in new }
        let path = merged["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        merged["PATH"] = path + ":/usr/local/sbin:/usr/sbin:/sbin"
        process.environment = merged
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = try FileHandle(forWritingTo: stdoutURL)
        process.standardError = try FileHandle(forWritingTo: stderrURL)
        // One spawn at a time: CI once crashed inside Foundation's Process.run() (a memcpy from a bad
        // pointer) while other test tasks were spawning; the lock costs nothing and rules that race out.
        ChildProcess.spawnLock.lock()
        defer { ChildProcess.spawnLock.unlock() }
        try process.run()
    }

    private static let spawnLock = NSLock()

    var processIdentifier: Int32 { process.processIdentifier }
    var isRunning: Bool { process.isRunning }

    /// Standard output so far.
    var stdout: String { (try? String(contentsOf: stdoutURL, encoding: .utf8)) ?? "" }
    /// Standard error so far.
    var stderr: String { (try? String(contentsOf: stderrURL, encoding: .utf8)) ?? "" }

    /// Waits at most `seconds` for the process to exit; returns its status, or nil on timeout.
    func wait(seconds: Double) async throws -> Int32? {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning {
            if Date() >= deadline { return nil }
            try await Task.sleep(nanoseconds: 50_000_000)
        }
        return process.terminationStatus
    }

    /// Sends SIGTERM, waits up to `grace` seconds, then SIGKILL; always returns with the child gone.
    func stop(grace: Double = 5) async {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGTERM)
        if (try? await wait(seconds: grace)) != nil { return }
        kill(process.processIdentifier, SIGKILL)
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

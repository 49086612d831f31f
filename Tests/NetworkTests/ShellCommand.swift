import Foundation

/// Errors of the helpers that drive external commands: what ran, and what it said.
struct ShellCommandError: Error, CustomStringConvertible {
    var command: [String]
    var reason: String
    var output: String

    var description: String {
        "\(command.joined(separator: " ")): \(reason)" + (output.isEmpty ? "" : "\n\(output)")
    }
}

/// The outcome of one finished command.
struct ShellResult {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// Runs short commands to completion, bounded in time.
enum ShellCommand {
    /// Runs `command` and returns its result; throws on a non-zero status or after `seconds`.
    @discardableResult
    static func run(_ command: [String], seconds: Double = 60) async throws -> ShellResult {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("mptcp-relay-cmd-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let child = try ChildProcess(command, name: "cmd", directory: directory)
        return try await child.expectSuccess(seconds: seconds)
    }

    /// Runs a bash script with positional arguments (`bash -c SCRIPT bash ARGS...`).
    @discardableResult
    static func bash(_ script: String, _ arguments: [String] = [], seconds: Double = 60) async throws -> ShellResult {
        try await run(["bash", "-c", script, "bash"] + arguments, seconds: seconds)
    }
}

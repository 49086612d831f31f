import Foundation
import RelayConfig
import RelayCore

#if canImport(Glibc)
import Glibc
#endif

/// Loads a configuration only after a child process (`check-config --parse-only`) has parsed it without
/// dying: TOMLKit 0.6.0's toml++ aborts the whole process on some malformed files (an `assert` in its
/// parser, docs/RELIABILITY.md finding 6), and a user must get a message naming the file, not a crash.
enum IsolatedConfigLoader {
    /// What became of loading a file.
    enum Failure: Error {
        /// The file has errors, each with its line and key.
        case invalid(ConfigErrors)
        /// The parser crashed on the file (the child died of `signal`).
        case parserCrashed(signal: Int32)
    }

    /// The validated configuration in `path`.
    static func load(path: String) throws(Failure) -> RelayConfiguration {
        if let signal = parserCrash(path) {
            throw .parserCrashed(signal: signal)
        }
        do {
            return try ConfigLoader.load(path: path)
        } catch {
            throw .invalid(error)
        }
    }

    /// The lines to print for `failure` of loading `path`.
    static func lines(_ failure: Failure, path: String) -> [String] {
        switch failure {
        case .invalid(let errors):
            return errors.errors.map { "\($0)" }
        case .parserCrashed(let signal):
            return [
                "\(path): the TOML parser (toml++ in TOMLKit) crashed on this file (signal \(signal)) instead of "
                    + "naming the mistake; look for a malformed table header ([[=, [*], a lone [) or an array inside "
                    + "an inline table closed with the wrong bracket (a = [\"x\", })"
            ]
        }
    }

    /// Parses `path` in a child process; the signal that killed it, or nil when it exited (valid or not).
    static func parserCrash(_ path: String) -> Int32? {
        // Not Foundation's Process: on Swift 6.3 it can crash while it lists /proc/self/fd, and a relay that
        // reloads under load holds thousands of descriptors (ChildSpawn).
        let null = open("/dev/null", O_RDWR | O_CLOEXEC)
        guard null >= 0 else { return nil }
        defer { close(null) }
        guard
            let pid = try? ChildSpawn.start(
                "/proc/self/exe",
                ["check-config", "--parse-only", path],
                input: null,
                output: null,
                error: null
            )
        else {
            return nil  // No child to ask: parse in this process, as before.
        }
        if case .signalled(let signal) = ChildSpawn.reap(pid, wait: true) { return signal }
        return nil
    }
}

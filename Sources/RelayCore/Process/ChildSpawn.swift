internal import CLiburing

#if canImport(Glibc)
import Glibc
#endif

/// How a child process ended.
public enum ChildExit: Equatable, Sendable {
    /// It exited with this status.
    case exited(Int32)
    /// A signal ended it.
    case signalled(Int32)
    /// It is no child of this process any more (reaped elsewhere): how it ended is unknown.
    case lost
}

/// Starts programs with posix_spawn and reaps them: what Foundation's `Process` does for the relay and its
/// tests, without its crash (on Swift 6.3, `Process.run` reads past a buffer while it lists
/// /proc/self/fd, and segfaults now and then in a process with many descriptors, such as a relay reloading
/// under load; swift-corelibs-foundation PR 5472). The child gets no descriptor but its standard three.
public enum ChildSpawn {
    /// Starts `path` with `arguments` (argv[1...]; argv[0] is `path`) and `environment` (nil: this
    /// process's), its standard input, output and error on `input`, `output` and `error`.
    public static func start(
        _ path: String,
        _ arguments: [String],
        environment: [String: String]? = nil,
        input: Int32,
        output: Int32,
        error: Int32
    ) throws(SystemCallError) -> Int32 {
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        let envp: [UnsafeMutablePointer<CChar>?]
        if let environment {
            envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        } else {
            var current: [UnsafeMutablePointer<CChar>?] = []
            var entry = environ
            while let pointer = entry.pointee {
                current.append(strdup(pointer))
                entry += 1
            }
            envp = current + [nil]
        }
        defer { for pointer in envp { free(pointer) } }
        let result = argv.withUnsafeBufferPointer { arguments in
            envp.withUnsafeBufferPointer { environment in
                CLiburing_spawn(path, arguments.baseAddress, environment.baseAddress, input, output, error)
            }
        }
        guard result > 0 else { throw SystemCallError("posix_spawn(\(path))", errno: -result) }
        return result
    }

    /// The child's end, reaping it; nil while it runs (without `wait`); with `wait`, blocks until it ends.
    public static func reap(_ pid: Int32, wait: Bool) -> ChildExit? {
        var status: Int32 = 0
        while true {
            let result = waitpid(pid, &status, wait ? 0 : WNOHANG)
            if result == 0 { return nil }
            if result < 0 {
                if errno == EINTR { continue }
                // ECHILD: gone already. Not "still running", or a caller would wait for it forever.
                return .lost
            }
            break
        }
        // WIFEXITED / WEXITSTATUS / WTERMSIG, which Swift does not import (macros).
        let signal = status & 0x7F
        return signal == 0 ? .exited((status >> 8) & 0xFF) : .signalled(signal)
    }
}

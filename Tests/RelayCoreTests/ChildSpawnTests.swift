import Foundation
import RelayCore
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `ChildSpawn`, which replaced Foundation's Process (its `run()` crashed now and then in processes with
/// many descriptors, while it listed /proc/self/fd): children start with only their standard three
/// descriptors, however many the parent holds, and their end is reported.
@Suite("ChildSpawn: posix_spawn with every other descriptor closed")
struct ChildSpawnTests {
    /// Runs `script` with /bin/sh, its output into a temporary file; returns the end and the output.
    func run(_ script: String) throws -> (ChildExit?, String) {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("spawn-\(UUID().uuidString)").path
        let output = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        let input = open("/dev/null", O_RDONLY | O_CLOEXEC)
        defer {
            close(output)
            close(input)
            unlink(path)
        }
        let pid = try ChildSpawn.start("/bin/sh", ["-c", script], input: input, output: output, error: output)
        let end = ChildSpawn.reap(pid, wait: true)
        // Read with read(2): Foundation's String(contentsOfFile:) leaks its buffer on an empty file (LSan).
        var bytes = [UInt8](repeating: 0, count: 4096)
        let count = pread(output, &bytes, bytes.count, 0)
        return (end, String(decoding: bytes.prefix(max(count, 0)), as: UTF8.self))
    }

    @Test("with thousands of descriptors open (not close-on-exec), a child sees only 0, 1 and 2")
    func onlyStandardDescriptors() throws {
        var held: [Int32] = []
        defer { for fd in held { close(fd) } }
        for _ in 0..<1_500 {
            var fds: [Int32] = [0, 0]
            guard pipe(&fds) == 0 else { break }
            held += fds
        }
        #expect(held.count >= 1_000, "could open only \(held.count) descriptors")
        for _ in 0..<20 {
            // The shell's own view of its descriptors: /proc/self/fd lists 0, 1, 2 and the one ls reads it by.
            let (end, output) = try run("ls /proc/self/fd | tr '\\n' ' '")
            #expect(end == .exited(0))
            #expect(output == "0 1 2 3 ", "inherited: \(output)")
        }
    }

    @Test("an exit status and a signal are told apart; the environment is passed")
    func endsAndEnvironment() throws {
        #expect(try run("exit 3").0 == .exited(3))
        #expect(try run("kill -SEGV $$").0 == .signalled(SIGSEGV))
        let null = open("/dev/null", O_RDWR | O_CLOEXEC)
        defer { close(null) }
        let pid = try ChildSpawn.start(
            "/bin/sh",
            ["-c", "test \"$RELAY_SPAWN_TEST\" = yes"],
            environment: ["RELAY_SPAWN_TEST": "yes"],
            input: null,
            output: null,
            error: null
        )
        #expect(ChildSpawn.reap(pid, wait: true) == .exited(0))
        #expect(throws: SystemCallError.self) {
            try ChildSpawn.start("/nonexistent/program", [], input: null, output: null, error: null)
        }
    }
}

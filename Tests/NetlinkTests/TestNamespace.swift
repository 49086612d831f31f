import Foundation
import Glibc

/// A network namespace a live test creates (`ip netns add nltest-…`) and deletes, and the closure runner that
/// puts a fresh thread into it: a netns is per thread, and sockets keep the namespace they were created in.
final class TestNamespace: Sendable {
    /// The namespace name, `nltest-<random>-<role>`.
    let name: String

    /// Whether live tests can run: they need root for `ip netns` and `setns`.
    static let isRoot = getuid() == 0

    init(role: String) throws {
        name = "nltest-\(String(UInt32.random(in: 0...UInt32.max), radix: 16))-\(role)"
        try shell("ip netns add \(name)")
        try shell("ip -n \(name) link set lo up")
    }

    /// Deletes the namespace; safe to call from `defer`.
    func delete() { _ = try? shell("ip netns del \(name)") }

    /// Runs `command` with `ip netns exec` in this namespace.
    @discardableResult func exec(_ command: String) throws -> String {
        try shell("ip netns exec \(name) \(command)")
    }

    /// Runs `body` on a new thread that first joined this namespace, waits (at most `timeoutSeconds`) and
    /// returns its result.
    func run<T: Sendable>(timeoutSeconds: Double = 60, _ body: @escaping @Sendable () throws -> T) throws -> T {
        let box = ResultBox<T>()
        let done = DispatchSemaphore(value: 0)
        let path = "/var/run/netns/\(name)"
        let thread = Thread {
            defer { done.signal() }
            let descriptor = open(path, O_RDONLY | O_CLOEXEC)
            guard descriptor >= 0, Self.setNetworkNamespace(descriptor) == 0 else {
                box.set(.failure(NamespaceError(message: "setns(\(path)) failed: errno \(errno)")))
                return
            }
            close(descriptor)
            box.set(Result { try body() })
        }
        thread.start()
        guard done.wait(timeout: .now() + timeoutSeconds) == .success else {
            throw NamespaceError(message: "thread in \(name) did not finish within \(timeoutSeconds) s")
        }
        return try box.get()
    }

    /// `setns(fd, CLONE_NEWNET)`; Glibc hides `setns` behind `_GNU_SOURCE`, so it is looked up at run time.
    private static func setNetworkNamespace(_ descriptor: Int32) -> Int32 {
        typealias SetNamespace = @convention(c) (Int32, Int32) -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "setns") else { return -1 }
        let cloneNewNet: Int32 = 0x4000_0000
        return unsafeBitCast(symbol, to: SetNamespace.self)(descriptor, cloneNewNet)
    }
}

/// A failure of the namespace plumbing or a shell command.
struct NamespaceError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

/// Hands a thread's result to the waiting test thread; the lock makes the unchecked Sendable sound.
private final class ResultBox<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var result: Result<T, any Error> = .failure(NamespaceError(message: "no result"))

    func set(_ result: Result<T, any Error>) { lock.withLock { self.result = result } }
    func get() throws -> T { try lock.withLock { result }.get() }
}

/// Runs a shell command and returns its standard output; throws when it exits non-zero.
@discardableResult func shell(_ command: String) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/sh")
    process.arguments = ["-c", command]
    let output = Pipe()
    let errors = Pipe()
    process.standardOutput = output
    process.standardError = errors
    try process.run()
    let outputData = output.fileHandleForReading.readDataToEndOfFile()
    let errorData = errors.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let text = String(decoding: outputData, as: UTF8.self)
    guard process.terminationStatus == 0 else {
        let stderr = String(decoding: errorData, as: UTF8.self)
        throw NamespaceError(message: "`\(command)` exited \(process.terminationStatus): \(stderr)")
    }
    return text
}

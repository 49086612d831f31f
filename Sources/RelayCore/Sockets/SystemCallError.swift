#if canImport(Glibc)
import Glibc
#endif

/// A failed system call: its name and errno, in the manner of swift-nio's `IOError`.
public struct SystemCallError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The call that failed, such as `bind` or `io_uring_queue_init`.
    public var call: String
    /// The errno value (positive).
    public var errno: Int32

    /// Makes an error for `call` with a positive errno value.
    public init(_ call: String, errno: Int32) {
        self.call = call
        self.errno = errno
    }

    public var description: String {
        "\(call): \(SystemCallError.text(errno)) (errno \(errno))"
    }

    /// The C library's text for an errno value.
    static func text(_ errno: Int32) -> String {
        String(cString: strerror(errno))
    }
}

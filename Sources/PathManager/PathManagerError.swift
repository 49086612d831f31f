#if canImport(Glibc)
import Glibc
#endif

/// Why the path manager could not start or act: the operation and the errno, with a hint when one helps.
public struct PathManagerError: Error, CustomStringConvertible {
    /// What failed ("open(/proc/sys/net/mptcp/path_manager)", "mptcp_pm SUBFLOW_CREATE").
    public var operation: String
    /// The errno, 0 when not a system error.
    public var errno: Int32
    /// What to do about it, if known.
    public var hint: String

    /// An error for `operation` with `errno`.
    public init(_ operation: String, errno: Int32, hint: String = "") {
        self.operation = operation
        self.errno = errno
        self.hint = hint
    }

    public var description: String {
        var text = operation
        if errno != 0 { text += ": \(String(cString: strerror(errno))) (errno \(errno))" }
        if !hint.isEmpty { text += "; \(hint)" }
        return text
    }
}

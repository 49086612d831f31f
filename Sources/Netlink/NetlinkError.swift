internal import Glibc

/// A failed netlink operation: a syscall that failed, or a request the kernel answered with a negative
/// `NLMSG_ERROR`.
///
/// `description` reads like `mptcp_pm SUBFLOW_CREATE: No such file or directory (errno 2)`, followed by the
/// kernel's extended ack text when it sent one.
public struct NetlinkError: Error, CustomStringConvertible {
    /// The call or request that failed: `socket`, `bind`, `recv`, `mptcp_pm SUBFLOW_CREATE`, …
    public var operation: String
    /// The positive errno value.
    public var errno: Int32
    /// The kernel's extended ack message (`NLMSGERR_ATTR_MSG`), if any.
    public var message: String?

    /// Creates an error for an operation and a positive errno.
    public init(operation: String, errno: Int32, message: String? = nil) {
        self.operation = operation
        self.errno = errno
        self.message = message
    }

    public var description: String {
        var text = "\(operation): \(String(cString: strerror(errno))) (errno \(errno))"
        if let message, !message.isEmpty { text += ": \(message)" }
        return text
    }
}

extension NetlinkError {
    /// Whether the kernel answered an `mptcp_pm` token command with "invalid token": it knows no connection
    /// with that token any more (closed, or reset by the peer without the CLOSED event, see
    /// docs/PATH-MANAGER.md).
    public var isUnknownToken: Bool {
        errno == EINVAL && message?.contains("invalid token") == true
    }
}

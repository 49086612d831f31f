import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// systemd's readiness protocol (sd_notify) without libsystemd: one datagram of `KEY=VALUE` lines to the
/// AF_UNIX socket named in `NOTIFY_SOCKET` (a path, or an abstract name after `@`). Without the variable
/// (not started by systemd with Type=notify), every call does nothing.
public struct ServiceNotifier: Sendable {
    /// The socket address from `NOTIFY_SOCKET`, or nil.
    public let socketPath: String?

    /// A notifier for the socket in this process's `NOTIFY_SOCKET`.
    public init() {
        self.init(socketPath: ProcessInfo.processInfo.environment["NOTIFY_SOCKET"])
    }

    /// A notifier for `socketPath` (nil or empty: none).
    public init(socketPath: String?) {
        self.socketPath = socketPath?.isEmpty == false ? socketPath : nil
    }

    /// Sends `state` (for example `READY=1\nSTATUS=…`); returns false when there is no socket or the send
    /// failed (systemd then times the start out, which is the right outcome for a broken notify socket).
    @discardableResult
    public func notify(_ state: String) -> Bool {
        guard let socketPath else { return false }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var path = Array(socketPath.utf8)
        // An abstract socket: its name starts with a NUL byte instead of '@'.
        if path.first == UInt8(ascii: "@") { path[0] = 0 }
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard path.count < capacity, path.first == 0 || path.first == UInt8(ascii: "/") else { return false }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in path.enumerated() { raw[index] = byte }
        }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + path.count)
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        let message = Array(state.utf8)
        let sent = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                message.withUnsafeBytes { bytes in
                    sendto(fd, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL), socketAddress, length)
                }
            }
        }
        return sent == message.count
    }
}

internal import CLiburing

#if canImport(Glibc)
import Glibc
#endif

/// A set of Linux capabilities, one bit per capability number, as capget(2) and /proc/PID/status show
/// them. The relay needs at most two: CAP_NET_ADMIN (IP_TRANSPARENT, SO_MARK, the MPTCP path manager and
/// its sysctl) and CAP_NET_BIND_SERVICE (a listener on a port below 1024).
public struct CapabilitySet: OptionSet, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt64

    public init(rawValue: UInt64) {
        self.rawValue = rawValue
    }

    /// CAP_NET_BIND_SERVICE (10): bind ports below 1024.
    public static let netBindService = CapabilitySet(rawValue: 1 << 10)
    /// CAP_NET_ADMIN (12): transparent sockets, socket marks, MPTCP path management, net sysctls.
    public static let netAdmin = CapabilitySet(rawValue: 1 << 12)
    /// What the relay keeps when it drops root: CAP_NET_ADMIN and CAP_NET_BIND_SERVICE.
    public static let relay: CapabilitySet = [.netAdmin, .netBindService]

    private static let names: [(CapabilitySet, String)] = [
        (.netBindService, "cap_net_bind_service"), (.netAdmin, "cap_net_admin"),
    ]

    /// The capability names, comma-separated ("none" for the empty set; others as `cap_N`).
    public var description: String {
        guard rawValue != 0 else { return "none" }
        var parts: [String] = []
        for bit in 0..<64 where rawValue & (1 << UInt64(bit)) != 0 {
            let single = CapabilitySet(rawValue: 1 << UInt64(bit))
            parts.append(Self.names.first { $0.0 == single }?.1 ?? "cap_\(bit)")
        }
        return parts.joined(separator: ",")
    }

    /// The calling thread's permitted and effective sets (capabilities are per thread in Linux).
    public static func ofCallingThread() throws(SystemCallError) -> (permitted: CapabilitySet, effective: CapabilitySet)
    {
        var permitted: UInt64 = 0
        var effective: UInt64 = 0
        var inheritable: UInt64 = 0
        let result = CLiburing_capget(&permitted, &effective, &inheritable)
        guard result == 0 else { throw SystemCallError("capget", errno: -result) }
        return (CapabilitySet(rawValue: permitted), CapabilitySet(rawValue: effective))
    }

    /// Makes this set the calling thread's permitted and effective sets, with nothing inheritable.
    func applyToCallingThread() throws(SystemCallError) {
        let result = CLiburing_capset(rawValue, rawValue, 0)
        guard result == 0 else { throw SystemCallError("capset", errno: -result) }
    }

    /// The highest capability number this kernel knows (/proc/sys/kernel/cap_last_cap; 40 if unreadable).
    static func lastCapability() -> Int {
        let fd = open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return 40 }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 16)
        let count = read(fd, &buffer, buffer.count)
        guard count > 0 else { return 40 }
        let digits = buffer.prefix(count).prefix { $0 >= 0x30 && $0 <= 0x39 }
        return Int(String(decoding: digits, as: UTF8.self)) ?? 40
    }
}

#if canImport(Glibc)
import Glibc
#endif

/// The TCP options this host's kernel puts in the SYN of the converter's connection to a destination, for
/// the Supported TCP Extensions TLV that answers a client's Info TLV (RFC 8803): Maximum Segment Size (2)
/// always; Window Scale (3), SACK Permitted (4) and Timestamps (8) as the namespace's
/// `net.ipv4.tcp_window_scaling`, `tcp_sack` and `tcp_timestamps` say. Read once, at the first query.
enum SupportedTCPExtensions {
    static let kinds: [UInt8] = {
        var kinds: [UInt8] = [2]
        if sysctlIsOn("tcp_window_scaling") { kinds.append(3) }
        if sysctlIsOn("tcp_sack") { kinds.append(4) }
        if sysctlIsOn("tcp_timestamps") { kinds.append(8) }
        return kinds
    }()

    /// Whether /proc/sys/net/ipv4/NAME holds a value other than 0 (on when unreadable: the kernel default).
    private static func sysctlIsOn(_ name: String) -> Bool {
        guard let file = fopen("/proc/sys/net/ipv4/\(name)", "r") else { return true }
        defer { fclose(file) }
        var value: Int32 = 1
        return withUnsafeMutablePointer(to: &value) { pointer in
            withVaList([pointer]) { vfscanf(file, "%d", $0) == 1 } ? pointer.pointee != 0 : true
        }
    }
}

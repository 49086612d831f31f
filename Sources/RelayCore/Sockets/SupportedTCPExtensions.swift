#if canImport(Glibc)
import Glibc
#endif

/// The TCP options the converter lists in the Supported TCP Extensions TLV that answers a client's Info TLV
/// (RFC 8803): those a client may name in a Connect TLV and that the converter's SYN to the destination then
/// carries: Maximum Segment Size (2) always, Window Scale (3) where `net.ipv4.tcp_window_scaling` is on
/// (read once, at the first query). SACK Permitted and Timestamps are in the SYN too, but a Connect TLV
/// naming them is refused (Unsupported TCP Option: the converter does not take client options), so they
/// are not listed.
enum SupportedTCPExtensions {
    static let kinds: [UInt8] = {
        var kinds: [UInt8] = [2]
        if sysctlIsOn("tcp_window_scaling") { kinds.append(3) }
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

import ConvertProtocol
import PathManager

/// The TCP options the converter lists in the Supported TCP Extensions TLV that answers a client's Info TLV
/// (RFC 8803): those a client may name in a Connect TLV and that the converter's SYN to the destination then
/// carries: Maximum Segment Size (2) always, Window Scale (3) where `net.ipv4.tcp_window_scaling` is on
/// (read once, at the first query). SACK Permitted and Timestamps are in the SYN too, but a Connect TLV
/// naming them is refused (Unsupported TCP Option: the converter does not take client options), so they
/// are not listed.
enum SupportedTCPExtensions {
    static let kinds: [UInt8] = {
        // Unreadable counts as on, the kernel's default.
        let windowScaling = SmallTextFile.read("/proc/sys/net/ipv4/tcp_window_scaling") ?? "1"
        return windowScaling == "0" ? [2] : [2, 3]
    }()

    /// The converter's success answer carrying ``kinds``, encoded once.
    static let answer = ConvertResponse(error: nil, supportedTCPExtensions: kinds).encoded()
}

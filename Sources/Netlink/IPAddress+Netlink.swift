import ConvertProtocol

extension IPAddress {
    /// `AF_INET`.
    static let familyIPv4: UInt16 = 2
    /// `AF_INET6`.
    static let familyIPv6: UInt16 = 10

    /// Reads a network-order address of 4 (IPv4) or 16 (IPv6) bytes, as carried by `ADDR4`/`ADDR6`,
    /// `IFA_ADDRESS` and `RTA_DST` attributes; nil for any other length.
    init?(networkBytes bytes: [UInt8]) {
        switch bytes.count {
        case 4:
            self = .v4(bytes.reduce(0) { $0 << 8 | UInt32($1) })
        case 16:
            self.init(bytes16: bytes)
        default:
            return nil
        }
    }

    /// The address in network order: 4 bytes for IPv4, 16 for IPv6.
    var networkBytes: [UInt8] {
        switch self {
        case .v4(let value):
            return [UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]
        case .v6:
            return bytes16
        }
    }

    /// `AF_INET` or `AF_INET6`.
    var netlinkFamily: UInt16 { isIPv4 ? Self.familyIPv4 : Self.familyIPv6 }
}

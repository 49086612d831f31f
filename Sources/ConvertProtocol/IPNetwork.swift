/// A CIDR prefix such as `198.19.0.0/24` or `2001:db8::/32`.
public struct IPNetwork: Hashable, Sendable, CustomStringConvertible {
    /// The first address of the network: host bits are always zero.
    ///
    /// Read-only, like ``prefixLength``, so the two can never disagree; build a new value to change them.
    public let address: IPAddress
    /// The number of leading bits that name the network: 0...32 for IPv4, 0...128 for IPv6.
    public let prefixLength: Int

    /// Creates a network from an address and prefix length, zeroing the host bits of `address`.
    ///
    /// Returns nil when `prefixLength` is negative or longer than the family allows (32 or 128).
    public init?(address: IPAddress, prefixLength: Int) {
        guard (0...(address.isIPv4 ? 32 : 128)).contains(prefixLength) else { return nil }
        self.prefixLength = prefixLength
        self.address = Self.masked(address, prefixLength: prefixLength)
    }

    /// Parses `198.19.0.0/24`, `2001:db8::/32`, or a bare address meaning `/32` or `/128`.
    ///
    /// The prefix length is decimal without leading zeros. IPv4-mapped IPv6 text such as
    /// `::ffff:198.19.0.0/120` becomes the IPv4 network `198.19.0.0/24`; a mapped prefix shorter than
    /// 96 bits has no IPv4 equivalent and is rejected.
    public init?(_ text: String) {
        guard let slash = text.utf8.firstIndex(of: UInt8(ascii: "/")) else {
            guard let address = IPAddress(text) else { return nil }
            self.init(address: address, prefixLength: address.isIPv4 ? 32 : 128)
            return
        }
        let addressText = text[..<slash]
        let lengthText = text[text.index(after: slash)...].utf8
        guard let address = IPAddress(String(addressText)) else { return nil }
        guard (1...3).contains(lengthText.count) else { return nil }
        guard lengthText.count == 1 || lengthText.first != UInt8(ascii: "0") else { return nil }
        var length = 0
        for byte in lengthText {
            guard let digit = byte.decimalDigitValue else { return nil }
            length = length * 10 + Int(digit)
        }
        if address.isIPv4 && addressText.utf8.contains(.colon) {
            guard (96...128).contains(length) else { return nil }
            length -= 96
        }
        self.init(address: address, prefixLength: length)
    }

    /// Whether `address` lies in this network. Families must match: an IPv4 network never contains an
    /// IPv6 address and vice versa (IPv4-mapped values are always ``IPAddress/v4(_:)``).
    public func contains(_ address: IPAddress) -> Bool {
        guard address.isIPv4 == self.address.isIPv4 else { return false }
        return Self.masked(address, prefixLength: prefixLength) == self.address
    }

    /// `198.19.0.0/24` or `2001:db8::/32`.
    public var description: String {
        "\(address)/\(prefixLength)"
    }

    /// `address` with every bit after the first `prefixLength` cleared.
    static func masked(_ address: IPAddress, prefixLength: Int) -> IPAddress {
        switch address {
        case .v4(let value):
            let mask: UInt32 = prefixLength <= 0 ? 0 : prefixLength >= 32 ? .max : ~(UInt32.max >> prefixLength)
            return .v4(value & mask)
        case .v6(let high, let low):
            let highBits = min(max(prefixLength, 0), 64)
            let lowBits = min(max(prefixLength - 64, 0), 64)
            let highMask: UInt64 = highBits == 0 ? 0 : highBits == 64 ? .max : ~(UInt64.max >> highBits)
            let lowMask: UInt64 = lowBits == 0 ? 0 : lowBits == 64 ? .max : ~(UInt64.max >> lowBits)
            return .v6(high: high & highMask, low: low & lowMask)
        }
    }
}

/// An IPv4 or IPv6 address as a value.
///
/// IPv4 addresses are always ``v4(_:)``: parsing `::ffff:a.b.c.d` text or IPv4-mapped bytes yields the
/// IPv4 case, so one host has one value and `Hashable` equality means "same host".
public enum IPAddress: Hashable, Sendable, CustomStringConvertible {
    /// An IPv4 address as its numeric value: `198.18.0.1` is `0xC612_0001`.
    case v4(UInt32)
    /// An IPv6 address as its 128-bit value split into big-endian halves: `high` holds the first 8 bytes.
    case v6(high: UInt64, low: UInt64)

    /// The longest text either family can take (`ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255`).
    static let maximumTextLength = 45

    /// Parses dotted IPv4 (`198.18.0.1`) or IPv6 text (`2001:db8::1`, `::ffff:198.18.0.1`, `::`).
    ///
    /// Strict: no brackets, no zone ids, no leading zeros in IPv4 octets, at most four hex digits per
    /// IPv6 group, at most one `::`, and an embedded IPv4 only as the last 32 bits. IPv4-mapped IPv6
    /// text becomes ``v4(_:)``.
    public init?(_ text: String) {
        var text = text
        let parsed: IPAddress? = text.withUTF8 { utf8 in
            guard utf8.count <= Self.maximumTextLength else { return nil }
            let bytes = ArraySlice(utf8)
            if bytes.contains(.colon) {
                guard let (high, low) = Self.parseIPv6(bytes) else { return nil }
                return IPAddress(high: high, low: low)
            }
            guard let value = Self.parseIPv4(bytes) else { return nil }
            return .v4(value)
        }
        guard let parsed else { return nil }
        self = parsed
    }

    /// Builds an address from 16 bytes in network order, as carried by the Connect TLV.
    ///
    /// An IPv4-mapped address (`::ffff:a.b.c.d`) becomes ``v4(_:)``.
    /// - Precondition: `bytes16` holds exactly 16 bytes.
    public init(bytes16: some Collection<UInt8>) {
        precondition(bytes16.count == 16, "IPAddress(bytes16:) needs exactly 16 bytes, got \(bytes16.count)")
        var high: UInt64 = 0
        var low: UInt64 = 0
        for (index, byte) in bytes16.enumerated() {
            if index < 8 {
                high = high << 8 | UInt64(byte)
            } else {
                low = low << 8 | UInt64(byte)
            }
        }
        self.init(high: high, low: low)
    }

    /// Builds an address from its 128-bit value, turning the IPv4-mapped range into ``v4(_:)``.
    init(high: UInt64, low: UInt64) {
        if high == 0 && low >> 32 == 0xFFFF {
            self = .v4(UInt32(truncatingIfNeeded: low))
        } else {
            self = .v6(high: high, low: low)
        }
    }

    /// The 16 network-order bytes of the address; IPv4 as IPv4-mapped IPv6 (`::ffff:a.b.c.d`).
    public var bytes16: [UInt8] {
        let (high, low) = value128
        var bytes: [UInt8] = []
        bytes.reserveCapacity(16)
        for shift in stride(from: 56, through: 0, by: -8) {
            bytes.append(UInt8(truncatingIfNeeded: high >> UInt64(shift)))
        }
        for shift in stride(from: 56, through: 0, by: -8) {
            bytes.append(UInt8(truncatingIfNeeded: low >> UInt64(shift)))
        }
        return bytes
    }

    /// The address as a 128-bit value, IPv4 mapped into `::ffff:0:0/96`.
    var value128: (high: UInt64, low: UInt64) {
        switch self {
        case .v4(let value):
            return (0, 0xFFFF_0000_0000 | UInt64(value))
        case .v6(let high, let low):
            return (high, low)
        }
    }

    /// Dotted-quad IPv4, or IPv6 in the RFC 5952 canonical form (lowercase, no leading zeros, the
    /// longest run of two or more zero groups compressed to `::`, the first such run on a tie).
    public var description: String {
        switch self {
        case .v4(let value):
            return Self.dottedQuad(value)
        case .v6(let high, let low):
            if high == 0 && low >> 32 == 0xFFFF {
                // Only reachable by building the case directly; RFC 5952 section 5 prints it mixed.
                return "::ffff:" + Self.dottedQuad(UInt32(truncatingIfNeeded: low))
            }
            return Self.canonicalIPv6(high: high, low: low)
        }
    }

    /// Whether this is an IPv4 address.
    public var isIPv4: Bool {
        if case .v4 = self { return true }
        return false
    }

    /// Whether this is a loopback address: `127.0.0.0/8` or `::1`.
    public var isLoopback: Bool {
        switch self {
        case .v4(let value): return value >> 24 == 127
        case .v6(let high, let low): return high == 0 && low == 1
        }
    }

    /// Whether this is a link-local address: `169.254.0.0/16` or `fe80::/10`.
    public var isLinkLocal: Bool {
        switch self {
        case .v4(let value): return value >> 16 == 0xA9FE
        case .v6(let high, _): return high >> 54 == 0x3FA
        }
    }

    /// Whether this is the unspecified address: `0.0.0.0` or `::`.
    public var isUnspecified: Bool {
        switch self {
        case .v4(let value): return value == 0
        case .v6(let high, let low): return high == 0 && low == 0
        }
    }

    /// Whether this is the IPv4 limited broadcast address, `255.255.255.255`.
    public var isLimitedBroadcast: Bool {
        if case .v4(0xFFFF_FFFF) = self { return true }
        return false
    }

    /// Whether this is a multicast address: `224.0.0.0/4` or `ff00::/8`.
    public var isMulticast: Bool {
        switch self {
        case .v4(let value): return value >> 28 == 0xE
        case .v6(let high, _): return high >> 56 == 0xFF
        }
    }
}

extension UInt8 {
    static let colon = UInt8(ascii: ":")
    static let dot = UInt8(ascii: ".")

    /// The value of an ASCII decimal digit, or nil.
    var decimalDigitValue: UInt8? {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(self) ? self - UInt8(ascii: "0") : nil
    }

    /// The value of an ASCII hexadecimal digit (either case), or nil.
    var hexDigitValue: UInt8? {
        if let digit = decimalDigitValue { return digit }
        if (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(self) { return self - UInt8(ascii: "a") + 10 }
        if (UInt8(ascii: "A")...UInt8(ascii: "F")).contains(self) { return self - UInt8(ascii: "A") + 10 }
        return nil
    }
}

extension IPAddress {
    /// Parses exactly four dot-separated decimal octets, 0...255, without leading zeros.
    static func parseIPv4(_ text: ArraySlice<UInt8>) -> UInt32? {
        var value: UInt32 = 0
        var octets = 0
        var index = text.startIndex
        while true {
            let start = index
            var octet: UInt32 = 0
            while index < text.endIndex, let digit = text[index].decimalDigitValue {
                guard index - start < 3 else { return nil }
                octet = octet * 10 + UInt32(digit)
                index += 1
            }
            let digits = index - start
            guard digits > 0, octet <= 255 else { return nil }
            guard digits == 1 || text[start] != UInt8(ascii: "0") else { return nil }
            value = value << 8 | octet
            octets += 1
            if index == text.endIndex { break }
            guard text[index] == .dot, octets < 4 else { return nil }
            index += 1
        }
        return octets == 4 ? value : nil
    }

    /// Parses IPv6 text into its 128-bit value (RFC 4291 section 2.2 forms, without zone ids).
    static func parseIPv6(_ text: ArraySlice<UInt8>) -> (UInt64, UInt64)? {
        var head: [UInt16] = []
        var tail: [UInt16] = []
        var compressed = false
        var index = text.startIndex
        let end = text.endIndex

        if text.starts(with: [.colon, .colon]) {
            compressed = true
            index += 2
        }
        while index < end {
            var tokenEnd = index
            while tokenEnd < end && text[tokenEnd] != .colon { tokenEnd += 1 }
            let token = text[index..<tokenEnd]
            if token.contains(.dot) {
                // An embedded IPv4 address fills the last two groups and must end the text.
                guard tokenEnd == end, let value = parseIPv4(token) else { return nil }
                let groups = [UInt16(truncatingIfNeeded: value >> 16), UInt16(truncatingIfNeeded: value)]
                if compressed { tail += groups } else { head += groups }
                break
            }
            guard (1...4).contains(token.count) else { return nil }
            var group: UInt16 = 0
            for byte in token {
                guard let digit = byte.hexDigitValue else { return nil }
                group = group << 4 | UInt16(digit)
            }
            if compressed { tail.append(group) } else { head.append(group) }
            if tokenEnd == end { break }
            if tokenEnd + 1 < end && text[tokenEnd + 1] == .colon {
                guard !compressed else { return nil }
                compressed = true
                index = tokenEnd + 2
            } else {
                index = tokenEnd + 1
                guard index < end else { return nil }
            }
        }

        let count = head.count + tail.count
        guard compressed ? count <= 7 : count == 8 else { return nil }
        let groups = head + [UInt16](repeating: 0, count: 8 - count) + tail
        var high: UInt64 = 0
        var low: UInt64 = 0
        for group in groups[0..<4] { high = high << 16 | UInt64(group) }
        for group in groups[4..<8] { low = low << 16 | UInt64(group) }
        return (high, low)
    }

    static func dottedQuad(_ value: UInt32) -> String {
        "\(value >> 24).\(value >> 16 & 0xFF).\(value >> 8 & 0xFF).\(value & 0xFF)"
    }

    static func canonicalIPv6(high: UInt64, low: UInt64) -> String {
        var groups: [UInt16] = []
        for shift in stride(from: 48, through: 0, by: -16) {
            groups.append(UInt16(truncatingIfNeeded: high >> UInt64(shift)))
        }
        for shift in stride(from: 48, through: 0, by: -16) {
            groups.append(UInt16(truncatingIfNeeded: low >> UInt64(shift)))
        }

        // The longest run of zero groups, first on a tie; RFC 5952 section 4.2.2 forbids compressing one.
        var bestStart = -1
        var bestLength = 1
        var runStart = -1
        for index in 0...8 {
            if index < 8 && groups[index] == 0 {
                if runStart < 0 { runStart = index }
            } else if runStart >= 0 {
                if index - runStart > bestLength {
                    bestStart = runStart
                    bestLength = index - runStart
                }
                runStart = -1
            }
        }

        func hex(_ groups: ArraySlice<UInt16>) -> String {
            groups.map { String($0, radix: 16) }.joined(separator: ":")
        }
        guard bestStart >= 0 else { return hex(groups[...]) }
        return hex(groups[..<bestStart]) + "::" + hex(groups[(bestStart + bestLength)...])
    }
}

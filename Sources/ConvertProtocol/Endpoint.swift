/// An IP address and a TCP port.
public struct Endpoint: Hashable, Sendable, CustomStringConvertible {
    /// The host.
    public var address: IPAddress
    /// The TCP port.
    public var port: UInt16

    /// Creates an endpoint.
    public init(address: IPAddress, port: UInt16) {
        self.address = address
        self.port = port
    }

    /// Parses `198.18.0.1:8000` or `[2001:db8::1]:8000`.
    ///
    /// IPv6 needs brackets and IPv4 must not have them; the port is decimal 0...65535 without leading
    /// zeros. IPv4-mapped IPv6 text in brackets gives an IPv4 endpoint.
    public init?(_ text: String) {
        guard let colon = text.utf8.lastIndex(of: .colon) else { return nil }
        let host = text[..<colon]
        guard let port = Self.parsePort(text[text.index(after: colon)...]) else { return nil }

        let address: IPAddress?
        if host.utf8.first == UInt8(ascii: "[") {
            guard host.utf8.last == UInt8(ascii: "]"), host.utf8.count >= 2 else { return nil }
            let inner = host.dropFirst().dropLast()
            guard inner.utf8.contains(.colon) else { return nil }
            address = IPAddress(String(inner))
        } else {
            guard !host.utf8.contains(.colon), !host.utf8.contains(UInt8(ascii: "]")) else { return nil }
            address = IPAddress(String(host))
        }
        guard let address else { return nil }
        self.init(address: address, port: port)
    }

    /// `198.18.0.1:8000` or `[2001:db8::1]:8000`.
    public var description: String {
        address.isIPv4 ? "\(address):\(port)" : "[\(address)]:\(port)"
    }

    /// Decimal 0...65535, one to five ASCII digits, no leading zeros.
    static func parsePort(_ text: Substring) -> UInt16? {
        let utf8 = text.utf8
        guard (1...5).contains(utf8.count) else { return nil }
        guard utf8.count == 1 || utf8.first != UInt8(ascii: "0") else { return nil }
        var value: UInt32 = 0
        for byte in utf8 {
            guard let digit = byte.decimalDigitValue else { return nil }
            value = value * 10 + UInt32(digit)
        }
        return value <= UInt32(UInt16.max) ? UInt16(value) : nil
    }
}

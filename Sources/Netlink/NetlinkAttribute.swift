/// One netlink attribute (`struct nlattr`): a type and its payload without padding.
public struct NetlinkAttribute: Sendable, Equatable {
    /// The attribute type with `NLA_F_NESTED` and `NLA_F_NET_BYTEORDER` masked off.
    public var type: UInt16
    /// The payload bytes (`nla_len - 4` of them).
    public var payload: [UInt8]

    /// `NLA_F_NESTED`: set by senders on attributes that hold attributes.
    public static let nestedFlag: UInt16 = 0x8000
    /// `NLA_F_NET_BYTEORDER`: set by a few senders on big-endian payloads.
    public static let networkByteOrderFlag: UInt16 = 0x4000
    /// `NLA_TYPE_MASK`: the bits of `nla_type` that are the type.
    public static let typeMask: UInt16 = 0x3FFF

    /// Creates an attribute.
    public init(type: UInt16, payload: [UInt8]) {
        self.type = type
        self.payload = payload
    }

    /// The payload as `u8`, if it is exactly one byte.
    public var u8: UInt8? { payload.count == 1 ? payload[0] : nil }
    /// The payload as a host-order `u16`, if it is exactly two bytes.
    public var u16: UInt16? { payload.count == 2 ? payload.loadHostOrder(UInt16.self, at: 0) : nil }
    /// The payload as a host-order `u32`, if it is exactly four bytes.
    public var u32: UInt32? { payload.count == 4 ? payload.loadHostOrder(UInt32.self, at: 0) : nil }
    /// The payload as a host-order `s32`, if it is exactly four bytes.
    public var int32: Int32? { u32.map { Int32(bitPattern: $0) } }
    /// The payload as a network-order (`be16`) value in host order, if it is exactly two bytes.
    public var bigEndianU16: UInt16? { payload.count == 2 ? UInt16(payload[0]) << 8 | UInt16(payload[1]) : nil }
    /// The payload as text up to the first NUL, if it is valid UTF-8.
    public var string: String? {
        let text = payload.prefix { $0 != 0 }
        return String(validating: text, as: UTF8.self)
    }

    /// The payload decoded as nested attributes.
    public func nested() throws(NetlinkDecodingError) -> [NetlinkAttribute] {
        try NetlinkDecoder.attributes(payload[...])
    }
}

extension Array where Element == NetlinkAttribute {
    /// The first attribute of the given type (later duplicates are ignored, as the kernel's `nla_parse` keeps
    /// the last one only for policies, which senders do not rely on).
    func first(_ type: UInt16) -> NetlinkAttribute? { first { $0.type == type } }
}

extension Collection<UInt8> where Index == Int {
    /// Reads a fixed-width integer in host byte order (netlink's header and attribute order) at `offset`.
    func loadHostOrder<T: FixedWidthInteger>(_: T.Type, at offset: Int) -> T {
        var value = T.zero
        withUnsafeMutableBytes(of: &value) { raw in
            for index in 0..<MemoryLayout<T>.size {
                raw[index] = self[self.startIndex + offset + index]
            }
        }
        return value
    }
}

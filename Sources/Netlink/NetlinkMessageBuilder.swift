/// Builds one netlink request: the header, a family header, then 4-byte aligned attributes.
///
/// ```swift
/// var builder = NetlinkMessageBuilder(type: familyID, flags: NetlinkFlags.request | NetlinkFlags.ack, sequence: 7)
/// builder.appendHeader([command, 1, 0, 0])
/// builder.append(4, u32: token)
/// let bytes = builder.bytes()
/// ```
/// Integers are written in host byte order, as netlink expects, unless an attribute is big-endian by
/// definition (use ``append(_:bytes:)`` with the network-order bytes then).
public struct NetlinkMessageBuilder {
    /// The message so far; the first 16 bytes are the header, `nlmsg_len` is filled in by ``bytes()``.
    private var buffer: [UInt8]

    /// Starts a message with the given header fields (`nlmsg_pid` 0: the kernel fills in the sender).
    public init(type: UInt16, flags: UInt16, sequence: UInt32) {
        buffer = []
        buffer.reserveCapacity(128)
        appendHostOrder(UInt32(0))
        appendHostOrder(type)
        appendHostOrder(flags)
        appendHostOrder(sequence)
        appendHostOrder(UInt32(0))
    }

    /// Appends a fixed family header (`genlmsghdr`, `ifinfomsg`, …), padded to 4 bytes.
    public mutating func appendHeader(_ bytes: [UInt8]) {
        buffer.append(contentsOf: bytes)
        pad()
    }

    /// Appends a `u8` attribute.
    public mutating func append(_ type: UInt16, u8 value: UInt8) { append(type, bytes: [value]) }

    /// Appends a host-order `u16` attribute.
    public mutating func append(_ type: UInt16, u16 value: UInt16) { append(type, bytes: Self.hostOrderBytes(value)) }

    /// Appends a host-order `u32` attribute.
    public mutating func append(_ type: UInt16, u32 value: UInt32) { append(type, bytes: Self.hostOrderBytes(value)) }

    /// Appends a host-order `s32` attribute.
    public mutating func append(_ type: UInt16, int32 value: Int32) { append(type, bytes: Self.hostOrderBytes(value)) }

    /// Appends a NUL-terminated string attribute.
    public mutating func append(_ type: UInt16, string value: String) { append(type, bytes: Array(value.utf8) + [0]) }

    /// Appends an attribute with the given payload, then padding to 4 bytes.
    public mutating func append(_ type: UInt16, bytes payload: [UInt8]) {
        appendHostOrder(UInt16(truncatingIfNeeded: 4 + payload.count))
        appendHostOrder(type)
        buffer.append(contentsOf: payload)
        pad()
    }

    /// Appends an attribute holding the attributes `body` appends, with `NLA_F_NESTED` set.
    public mutating func appendNested(_ type: UInt16, _ body: (inout NetlinkMessageBuilder) -> Void) {
        let start = buffer.count
        appendHostOrder(UInt16(0))
        appendHostOrder(type | NetlinkAttribute.nestedFlag)
        body(&self)
        let length = UInt16(truncatingIfNeeded: buffer.count - start)
        withUnsafeBytes(of: length) { raw in
            buffer[start] = raw[0]
            buffer[start + 1] = raw[1]
        }
    }

    /// The finished message with `nlmsg_len` filled in.
    public func bytes() -> [UInt8] {
        var result = buffer
        let length = UInt32(truncatingIfNeeded: result.count)
        withUnsafeBytes(of: length) { raw in
            for index in 0..<4 { result[index] = raw[index] }
        }
        return result
    }

    private mutating func appendHostOrder<T: FixedWidthInteger>(_ value: T) {
        buffer.append(contentsOf: Self.hostOrderBytes(value))
    }

    private mutating func pad() {
        while buffer.count % 4 != 0 { buffer.append(0) }
    }

    /// The bytes of an integer in host byte order.
    static func hostOrderBytes<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
        withUnsafeBytes(of: value) { Array($0) }
    }
}

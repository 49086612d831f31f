/// Splits datagrams into messages and payloads into attributes, checking every length.
///
/// Never traps on malformed input: every length is checked against the bytes at hand and an impossible one
/// throws ``NetlinkDecodingError``.
public enum NetlinkDecoder {
    /// The size of `struct nlmsghdr`.
    public static let messageHeaderLength = 16

    /// The messages in one datagram (`recv` result), in order.
    public static func messages(_ bytes: some Collection<UInt8>) throws(NetlinkDecodingError) -> [NetlinkMessage] {
        let bytes = Array(bytes)
        var messages: [NetlinkMessage] = []
        var offset = 0
        while offset < bytes.count {
            let remaining = bytes.count - offset
            guard remaining >= messageHeaderLength else {
                throw NetlinkDecodingError(
                    .truncatedMessage,
                    offset: offset,
                    "\(remaining) bytes left, header needs 16"
                )
            }
            let length = Int(bytes.loadHostOrder(UInt32.self, at: offset))
            guard length >= messageHeaderLength, length <= remaining else {
                throw NetlinkDecodingError(
                    .invalidMessageLength,
                    offset: offset,
                    "nlmsg_len \(length), \(remaining) left"
                )
            }
            messages.append(
                NetlinkMessage(
                    type: bytes.loadHostOrder(UInt16.self, at: offset + 4),
                    flags: bytes.loadHostOrder(UInt16.self, at: offset + 6),
                    sequence: bytes.loadHostOrder(UInt32.self, at: offset + 8),
                    portID: bytes.loadHostOrder(UInt32.self, at: offset + 12),
                    payload: Array(bytes[(offset + messageHeaderLength)..<(offset + length)])
                )
            )
            offset += min(align(length), remaining)
        }
        return messages
    }

    /// The attributes in `bytes`, in order; offsets in errors are relative to `bytes.startIndex`.
    public static func attributes(_ bytes: ArraySlice<UInt8>) throws(NetlinkDecodingError) -> [NetlinkAttribute] {
        var attributes: [NetlinkAttribute] = []
        var index = bytes.startIndex
        while index < bytes.endIndex {
            let remaining = bytes.endIndex - index
            let offset = index - bytes.startIndex
            guard remaining >= 4 else {
                throw NetlinkDecodingError(.invalidAttributeLength, offset: offset, "\(remaining) stray bytes")
            }
            let length = Int(bytes.loadHostOrder(UInt16.self, at: offset))
            let type = bytes.loadHostOrder(UInt16.self, at: offset + 2) & NetlinkAttribute.typeMask
            guard length >= 4, length <= remaining else {
                throw NetlinkDecodingError(
                    .invalidAttributeLength,
                    offset: offset,
                    "nla_len \(length) of type \(type), \(remaining) left"
                )
            }
            attributes.append(NetlinkAttribute(type: type, payload: Array(bytes[(index + 4)..<(index + length)])))
            index += min(align(length), remaining)
        }
        return attributes
    }

    /// Rounds up to netlink's 4-byte alignment (`NLMSG_ALIGN`, `NLA_ALIGN`).
    static func align(_ length: Int) -> Int { (length + 3) & ~3 }
}

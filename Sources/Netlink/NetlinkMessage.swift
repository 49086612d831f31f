/// One netlink message: the `nlmsghdr` fields and the bytes after the header.
///
/// The payload is everything after the 16-byte header up to `nlmsg_len` (without the alignment padding
/// that separates messages in a datagram). For generic netlink it starts with the 4-byte `genlmsghdr`;
/// for rtnetlink with the family header (`ifinfomsg`, `ifaddrmsg`, `rtmsg`).
public struct NetlinkMessage: Sendable, Equatable {
    /// The message type (`nlmsg_type`): a control type, an rtnetlink `RTM_*` or a generic netlink family id.
    public var type: UInt16
    /// The `NLM_F_*` flags (`nlmsg_flags`).
    public var flags: UInt16
    /// The sequence number (`nlmsg_seq`), echoed by the kernel in replies.
    public var sequence: UInt32
    /// The port id (`nlmsg_pid`): 0 for messages from the kernel's multicast, else the requesting socket.
    public var portID: UInt32
    /// The bytes after the header.
    public var payload: [UInt8]

    /// Creates a message from its fields.
    public init(type: UInt16, flags: UInt16 = 0, sequence: UInt32 = 0, portID: UInt32 = 0, payload: [UInt8] = []) {
        self.type = type
        self.flags = flags
        self.sequence = sequence
        self.portID = portID
        self.payload = payload
    }

    /// The generic netlink command (`genlmsghdr.cmd`), if the payload is long enough to hold one.
    public var genericCommand: UInt8? { payload.count >= 4 ? payload[0] : nil }

    /// The attributes after a fixed header of `headerLength` bytes (4 for generic netlink, 16 for
    /// `ifinfomsg`, 8 for `ifaddrmsg`, 12 for `rtmsg`).
    public func attributes(afterHeader headerLength: Int) throws(NetlinkDecodingError) -> [NetlinkAttribute] {
        guard payload.count >= headerLength else {
            throw NetlinkDecodingError(
                .truncatedMessage,
                offset: payload.count,
                "family header of \(headerLength) bytes"
            )
        }
        return try NetlinkDecoder.attributes(payload[headerLength...])
    }
}

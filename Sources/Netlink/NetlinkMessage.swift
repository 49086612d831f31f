/// One netlink message: header fields and payload (placeholder until the codec lands).
public struct NetlinkMessage: Sendable, Equatable {
    /// The message type (`nlmsg_type`).
    public var type: UInt16
    /// Creates a message of the given type.
    public init(type: UInt16) { self.type = type }
}

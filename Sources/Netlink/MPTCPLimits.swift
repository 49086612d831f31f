/// The in-kernel path manager's limits (`ip mptcp limits`).
public struct MPTCPLimits: Sendable, Equatable {
    /// Additional subflows per connection (`MPTCP_PM_ATTR_SUBFLOWS`).
    public var subflows: UInt32
    /// ADD_ADDR announcements accepted per connection (`MPTCP_PM_ATTR_RCV_ADD_ADDRS`).
    public var acceptedAddresses: UInt32

    /// Creates limits.
    public init(subflows: UInt32, acceptedAddresses: UInt32) {
        self.subflows = subflows
        self.acceptedAddresses = acceptedAddresses
    }
}

/// The `MPTCP_PM_ADDR_FLAG_*` bits of an address or endpoint (`MPTCP_PM_ADDR_ATTR_FLAGS`, u32).
public struct MPTCPEndpointFlags: OptionSet, Sendable, Hashable {
    public var rawValue: UInt32

    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// `signal`: announce the address to peers (ADD_ADDR).
    public static let signal = MPTCPEndpointFlags(rawValue: 1 << 0)
    /// `subflow`: open subflows from this address (kernel PM, client side).
    public static let subflow = MPTCPEndpointFlags(rawValue: 1 << 1)
    /// `backup`: subflows from this address are backup (MP_PRIO / MP_JOIN backup bit).
    public static let backup = MPTCPEndpointFlags(rawValue: 1 << 2)
    /// `fullmesh`: one subflow per remote address.
    public static let fullmesh = MPTCPEndpointFlags(rawValue: 1 << 3)
    /// `implicit`: created by the kernel for an address used by a subflow without an endpoint.
    public static let implicit = MPTCPEndpointFlags(rawValue: 1 << 4)
    /// `laminar` (Linux 6.18): use this endpoint to join addresses the peer announced.
    public static let laminar = MPTCPEndpointFlags(rawValue: 1 << 5)
}

public import ConvertProtocol

/// An address as the `mptcp_pm` family carries it in a nested `MPTCP_PM_ATTR_ADDR` or
/// `MPTCP_PM_ATTR_ADDR_REMOTE`: an endpoint of the in-kernel path manager, or one end of a subflow.
///
/// The port is in host order here and in the attribute (`MPTCP_PM_ADDR_ATTR_PORT` is a host-order u16,
/// unlike the event attributes, which are network order).
public struct MPTCPAddress: Sendable, Equatable {
    /// The IP address (`MPTCP_PM_ADDR_ATTR_ADDR4`/`ADDR6`, network order on the wire).
    public var address: IPAddress
    /// The port (`MPTCP_PM_ADDR_ATTR_PORT`); nil when absent or 0.
    public var port: UInt16?
    /// The address id (`MPTCP_PM_ADDR_ATTR_ID`).
    public var id: UInt8?
    /// The endpoint flags (`MPTCP_PM_ADDR_ATTR_FLAGS`); not sent when empty.
    public var flags: MPTCPEndpointFlags
    /// The interface index (`MPTCP_PM_ADDR_ATTR_IF_IDX`).
    public var interfaceIndex: Int32?

    /// Creates an address.
    public init(
        address: IPAddress,
        port: UInt16? = nil,
        id: UInt8? = nil,
        flags: MPTCPEndpointFlags = [],
        interfaceIndex: Int32? = nil
    ) {
        self.address = address
        self.port = port
        self.id = id
        self.flags = flags
        self.interfaceIndex = interfaceIndex
    }

    /// `MPTCP_PM_ADDR_ATTR_*`.
    enum Attribute {
        static let family: UInt16 = 1
        static let id: UInt16 = 2
        static let address4: UInt16 = 3
        static let address6: UInt16 = 4
        static let port: UInt16 = 5
        static let flags: UInt16 = 6
        static let interfaceIndex: UInt16 = 7
    }

    /// Appends the address attributes in iproute2's order (id, flags, ifindex, port, family, address), so
    /// requests match what `ip mptcp` sends byte for byte. `alwaysFlags` sends a zero flags attribute too.
    func append(to builder: inout NetlinkMessageBuilder, alwaysFlags: Bool = false) {
        if let id { builder.append(Attribute.id, u8: id) }
        if alwaysFlags || !flags.isEmpty { builder.append(Attribute.flags, u32: flags.rawValue) }
        if let interfaceIndex { builder.append(Attribute.interfaceIndex, int32: interfaceIndex) }
        if let port { builder.append(Attribute.port, u16: port) }
        builder.append(Attribute.family, u16: address.netlinkFamily)
        builder.append(address.isIPv4 ? Attribute.address4 : Attribute.address6, bytes: address.networkBytes)
    }

    /// Decodes the attributes inside a nested address attribute.
    init(attributes: [NetlinkAttribute]) throws(NetlinkDecodingError) {
        let address: IPAddress
        if let attribute = attributes.first(Attribute.address4) ?? attributes.first(Attribute.address6) {
            guard let decoded = IPAddress(networkBytes: attribute.payload) else {
                throw NetlinkDecodingError(
                    .invalidAttributeValue,
                    "MPTCP_PM_ADDR_ATTR_ADDR of \(attribute.payload.count) bytes"
                )
            }
            address = decoded
        } else {
            throw NetlinkDecodingError(.missingAttribute, "MPTCP_PM_ADDR_ATTR_ADDR4/ADDR6")
        }
        let port = attributes.first(Attribute.port)?.u16
        self.init(
            address: address,
            port: port == 0 ? nil : port,
            id: attributes.first(Attribute.id)?.u8,
            flags: MPTCPEndpointFlags(rawValue: attributes.first(Attribute.flags)?.u32 ?? 0),
            interfaceIndex: attributes.first(Attribute.interfaceIndex)?.int32
        )
    }
}

public import ConvertProtocol

/// An interface address as `RTM_NEWADDR`/`RTM_DELADDR` describe it.
public struct AddressState: Sendable, Equatable {
    /// The interface index (`ifa_index`).
    public var interfaceIndex: Int32
    /// The local address: `IFA_LOCAL` when present (IPv4; on point-to-point links `IFA_ADDRESS` is the
    /// peer), else `IFA_ADDRESS`.
    public var address: IPAddress
    /// The prefix length (`ifa_prefixlen`).
    public var prefixLength: UInt8
    /// Whether the message is `RTM_DELADDR`: the address is gone.
    public var removed: Bool
    /// The address flags: `IFA_FLAGS` when present, else `ifa_flags` (`IFA_F_TENTATIVE` = 0x40 while IPv6 DAD
    /// runs, `IFA_F_DADFAILED` = 0x08, `IFA_F_DEPRECATED` = 0x20).
    public var flags: UInt32
    /// The scope (`ifa_scope`): 0 global, 253 link, 254 host.
    public var scope: UInt8

    /// Creates an address state.
    public init(
        interfaceIndex: Int32,
        address: IPAddress,
        prefixLength: UInt8,
        removed: Bool,
        flags: UInt32 = 0,
        scope: UInt8 = 0
    ) {
        self.interfaceIndex = interfaceIndex
        self.address = address
        self.prefixLength = prefixLength
        self.removed = removed
        self.flags = flags
        self.scope = scope
    }

    /// Whether the address can be used as a source: not tentative (DAD running) and DAD did not fail.
    public var isUsable: Bool { flags & (0x40 | 0x08) == 0 }

    /// `IFA_ADDRESS`, `IFA_LOCAL`, `IFA_FLAGS`.
    static let attributeAddress: UInt16 = 1
    static let attributeLocal: UInt16 = 2
    static let attributeFlags: UInt16 = 8

    /// Decodes an `RTM_NEWADDR` or `RTM_DELADDR` payload (`ifaddrmsg`, 8 bytes, then attributes).
    init(message: NetlinkMessage) throws(NetlinkDecodingError) {
        let attributes = try message.attributes(afterHeader: 8)
        guard let attribute = attributes.first(Self.attributeLocal) ?? attributes.first(Self.attributeAddress) else {
            throw NetlinkDecodingError(.missingAttribute, "IFA_LOCAL/IFA_ADDRESS")
        }
        guard let address = IPAddress(networkBytes: attribute.payload) else {
            throw NetlinkDecodingError(.invalidAttributeValue, "IFA_ADDRESS of \(attribute.payload.count) bytes")
        }
        let payload = message.payload
        self.init(
            interfaceIndex: Int32(bitPattern: payload.loadHostOrder(UInt32.self, at: 4)),
            address: address,
            prefixLength: payload[1],
            removed: message.type == RouteNetlinkMessageType.deleteAddress,
            flags: attributes.first(Self.attributeFlags)?.u32 ?? UInt32(payload[2]),
            scope: payload[3]
        )
    }
}

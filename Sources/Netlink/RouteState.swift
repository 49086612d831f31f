public import ConvertProtocol

/// A route as `RTM_NEWROUTE`/`RTM_DELROUTE` describe it.
public struct RouteState: Sendable, Equatable {
    /// The table: `RTA_TABLE` when present (tables above 255), else `rtm_table`; 254 is `main`, 255 `local`.
    public var table: UInt32
    /// The output interface (`RTA_OIF`).
    public var outputInterface: Int32?
    /// The destination (`RTA_DST`); nil for a default route.
    public var destination: IPAddress?
    /// The destination prefix length (`rtm_dst_len`).
    public var destinationPrefixLength: UInt8
    /// The gateway (`RTA_GATEWAY`).
    public var gateway: IPAddress?
    /// The address family (`rtm_family`): 2 `AF_INET`, 10 `AF_INET6`.
    public var family: UInt8
    /// The route type (`rtm_type`): 1 unicast, 2 local, 3 broadcast, …
    public var type: UInt8
    /// The route metric (`RTA_PRIORITY`).
    public var priority: UInt32?
    /// Whether the message is `RTM_DELROUTE`: the route is gone.
    public var removed: Bool

    /// Creates a route state.
    public init(
        table: UInt32,
        outputInterface: Int32? = nil,
        destination: IPAddress? = nil,
        destinationPrefixLength: UInt8 = 0,
        gateway: IPAddress? = nil,
        family: UInt8,
        type: UInt8 = 1,
        priority: UInt32? = nil,
        removed: Bool = false
    ) {
        self.table = table
        self.outputInterface = outputInterface
        self.destination = destination
        self.destinationPrefixLength = destinationPrefixLength
        self.gateway = gateway
        self.family = family
        self.type = type
        self.priority = priority
        self.removed = removed
    }

    /// `RTA_DST`, `RTA_OIF`, `RTA_GATEWAY`, `RTA_PRIORITY`, `RTA_TABLE`.
    static let attributeDestination: UInt16 = 1
    static let attributeOutputInterface: UInt16 = 4
    static let attributeGateway: UInt16 = 5
    static let attributePriority: UInt16 = 6
    static let attributeTable: UInt16 = 15

    /// Decodes an `RTM_NEWROUTE` or `RTM_DELROUTE` payload (`rtmsg`, 12 bytes, then attributes).
    init(message: NetlinkMessage) throws(NetlinkDecodingError) {
        let attributes = try message.attributes(afterHeader: 12)
        let payload = message.payload
        var destination: IPAddress?
        if let attribute = attributes.first(Self.attributeDestination) {
            guard let decoded = IPAddress(networkBytes: attribute.payload) else {
                throw NetlinkDecodingError(.invalidAttributeValue, "RTA_DST of \(attribute.payload.count) bytes")
            }
            destination = decoded
        }
        var gateway: IPAddress?
        if let attribute = attributes.first(Self.attributeGateway) {
            guard let decoded = IPAddress(networkBytes: attribute.payload) else {
                throw NetlinkDecodingError(.invalidAttributeValue, "RTA_GATEWAY of \(attribute.payload.count) bytes")
            }
            gateway = decoded
        }
        self.init(
            table: attributes.first(Self.attributeTable)?.u32 ?? UInt32(payload[4]),
            outputInterface: attributes.first(Self.attributeOutputInterface)?.int32,
            destination: destination,
            destinationPrefixLength: payload[1],
            gateway: gateway,
            family: payload[0],
            type: payload[7],
            priority: attributes.first(Self.attributePriority)?.u32,
            removed: message.type == RouteNetlinkMessageType.deleteRoute
        )
    }
}

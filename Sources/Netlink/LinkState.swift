/// An interface as `RTM_NEWLINK`/`RTM_DELLINK` describe it.
public struct LinkState: Sendable, Equatable {
    /// The interface index (`ifi_index`).
    public var index: Int32
    /// The interface name (`IFLA_IFNAME`); empty when absent.
    public var name: String
    /// `IFF_UP`: administratively up.
    public var isUp: Bool
    /// `IFF_LOWER_UP`: the driver reports carrier (for a veth: the peer is up).
    public var hasCarrier: Bool
    /// `IFF_RUNNING`: operationally up (RFC 2863 `up`, or `unknown` for devices without carrier).
    public var isRunning: Bool
    /// Whether the message is `RTM_DELLINK`: the interface is gone.
    public var removed: Bool
    /// The raw `ifi_flags`.
    public var flags: UInt32

    /// Creates a link state.
    public init(
        index: Int32,
        name: String,
        isUp: Bool,
        hasCarrier: Bool,
        isRunning: Bool,
        removed: Bool,
        flags: UInt32 = 0
    ) {
        self.index = index
        self.name = name
        self.isUp = isUp
        self.hasCarrier = hasCarrier
        self.isRunning = isRunning
        self.removed = removed
        self.flags = flags
    }

    /// `IFF_UP`, `IFF_RUNNING`, `IFF_LOWER_UP`.
    static let flagUp: UInt32 = 0x1
    static let flagRunning: UInt32 = 0x40
    static let flagLowerUp: UInt32 = 0x1_0000
    /// `IFLA_IFNAME`.
    static let attributeName: UInt16 = 3

    /// Decodes an `RTM_NEWLINK` or `RTM_DELLINK` payload (`ifinfomsg`, 16 bytes, then attributes).
    init(message: NetlinkMessage) throws(NetlinkDecodingError) {
        let attributes = try message.attributes(afterHeader: 16)
        let flags = message.payload.loadHostOrder(UInt32.self, at: 8)
        self.init(
            index: Int32(bitPattern: message.payload.loadHostOrder(UInt32.self, at: 4)),
            name: attributes.first(Self.attributeName)?.string ?? "",
            isUp: flags & Self.flagUp != 0,
            hasCarrier: flags & Self.flagLowerUp != 0,
            isRunning: flags & Self.flagRunning != 0,
            removed: message.type == RouteNetlinkMessageType.deleteLink,
            flags: flags
        )
    }
}

public import ConvertProtocol

/// What the link monitor currently knows of one path: up or down, its interface and its source addresses.
public struct PathStatus: Sendable, Hashable {
    /// Whether subflows may use the path: link up with carrier, a source address, and a route when a
    /// table is configured.
    public var up: Bool
    /// The interface index, when the path's interface (or the interface holding its source) exists.
    public var interfaceIndex: Int32?
    /// The IPv4 source address.
    public var v4: IPAddress?
    /// The IPv6 source address.
    public var v6: IPAddress?
    /// Why the path is down, for the log line of the transition ("no carrier on upa0").
    public var reason: String

    /// A status from its parts.
    public init(up: Bool, interfaceIndex: Int32? = nil, v4: IPAddress? = nil, v6: IPAddress? = nil, reason: String = "")
    {
        self.up = up
        self.interfaceIndex = interfaceIndex
        self.v4 = v4
        self.v6 = v6
        self.reason = reason
    }
}

public import ConvertProtocol

/// What a converter knows of one client (`[[client]]`): its name, its keys, where it may connect and
/// how much it may use.
public struct ClientCredentials: Sendable, Hashable {
    /// The name the client puts in its cookies.
    public var name: String
    /// One or two keys: during a rotation both the old and the new key are valid.
    public var keys: [ClientKey]
    /// Destination networks this client may ask for, within the listener's own `allow`; nil: all of those.
    public var allow: [IPNetwork]?
    /// Destination ports this client may ask for; nil: any.
    public var ports: Set<UInt16>?
    /// Connections of this client open at once, at most; nil: no limit.
    public var maxConnections: Int?
    /// New connections of this client per second, at most; nil: no limit.
    public var maxNewPerSecond: Int?

    /// A client from its parts.
    public init(
        name: String,
        keys: [ClientKey],
        allow: [IPNetwork]? = nil,
        ports: Set<UInt16>? = nil,
        maxConnections: Int? = nil,
        maxNewPerSecond: Int? = nil
    ) {
        self.name = name
        self.keys = keys
        self.allow = allow
        self.ports = ports
        self.maxConnections = maxConnections
        self.maxNewPerSecond = maxNewPerSecond
    }
}

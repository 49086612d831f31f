public import ConvertProtocol

/// One uplink as configured (`[[path]]`): a name, where its source address and routing come from, and
/// its class.
///
/// Either `interface` or `source` names the path's local side; with only an interface, the source
/// address is read from the interface when the relay starts.
public struct PathDefinition: Sendable, Hashable {
    /// Unique name, used in logs, policies and metrics.
    public var name: String
    /// The network interface (`eth1`); its carrier and addresses decide whether the path is up.
    public var interface: String?
    /// The source address subflows on this path use; found from `interface` when nil.
    public var source: IPAddress?
    /// The routing table that must hold a route for the path to count as up; nil skips the route check.
    public var table: UInt32?
    /// Primary or backup.
    public var pathClass: PathClass
    /// What the path may carry per period, if capped.
    public var quota: PathQuota?
    /// The path's active check, if any (needs `[health]`).
    public var probe: PathProbe?

    /// A path definition from its parts.
    public init(
        name: String,
        interface: String? = nil,
        source: IPAddress? = nil,
        table: UInt32? = nil,
        pathClass: PathClass = .primary,
        quota: PathQuota? = nil,
        probe: PathProbe? = nil
    ) {
        self.probe = probe
        self.name = name
        self.interface = interface
        self.source = source
        self.table = table
        self.pathClass = pathClass
        self.quota = quota
    }
}

import ConvertProtocol
public import Netlink

/// The interfaces, addresses and routes of the network namespace, kept current from rtnetlink dumps and
/// events, and what they mean for each configured path.
public struct LinkTable: Sendable {
    /// Interfaces by index.
    public private(set) var links: [Int32: LinkState] = [:]
    /// Addresses by interface index.
    public private(set) var addresses: [Int32: [AddressState]] = [:]
    /// Route counts by table and output interface (0: no output interface).
    public private(set) var routes: [RouteKey: Int] = [:]

    /// A table with nothing in it.
    public init() {}

    /// Where a route counts: its table and output interface.
    public struct RouteKey: Sendable, Hashable {
        /// The routing table.
        public var table: UInt32
        /// The output interface, 0 when the route has none.
        public var interface: Int32
    }

    /// Applies one rtnetlink dump entry or event.
    public mutating func apply(_ event: RouteNetlinkEvent) {
        switch event {
        case .link(let link):
            if link.removed {
                links[link.index] = nil
                addresses[link.index] = nil
            } else {
                links[link.index] = link
            }
        case .address(let address):
            var list = addresses[address.interfaceIndex] ?? []
            list.removeAll { $0.address == address.address }
            if !address.removed { list.append(address) }
            addresses[address.interfaceIndex] = list.isEmpty ? nil : list
        case .route(let route):
            let key = RouteKey(table: route.table, interface: route.outputInterface ?? 0)
            let count = (routes[key] ?? 0) + (route.removed ? -1 : 1)
            routes[key] = count > 0 ? count : nil
        }
    }

    /// The status of `path` in the current state.
    public func status(of path: PathDefinition) -> PathStatus {
        let link: LinkState?
        if let name = path.interface {
            link = links.values.first { $0.name == name }
            guard link != nil else { return PathStatus(up: false, reason: "interface \(name) does not exist") }
        } else if let source = path.source {
            let holder = addresses.first { $0.value.contains { $0.address == source } }?.key
            link = holder.flatMap { links[$0] }
            guard link != nil else { return PathStatus(up: false, reason: "no interface has address \(source)") }
        } else {
            return PathStatus(up: false, reason: "no interface or source configured")
        }
        guard let link else { return PathStatus(up: false, reason: "no interface") }
        let own = (addresses[link.index] ?? []).filter { $0.isUsable && $0.scope == 0 }
        var status = PathStatus(up: false, interfaceIndex: link.index)
        if let source = path.source {
            guard own.contains(where: { $0.address == source }) else {
                status.reason = "address \(source) is not on \(link.name)"
                return status
            }
            if source.isIPv4 { status.v4 = source } else { status.v6 = source }
        } else {
            status.v4 = own.first { $0.address.isIPv4 }?.address
            status.v6 = own.first { !$0.address.isIPv4 }?.address
        }
        guard link.isUp else {
            status.reason = "\(link.name) is administratively down"
            return status
        }
        guard link.hasCarrier else {
            status.reason = "no carrier on \(link.name)"
            return status
        }
        guard status.v4 != nil || status.v6 != nil else {
            status.reason = "\(link.name) has no usable address"
            return status
        }
        if let table = path.table, !routes.keys.contains(where: { $0.table == table }) {
            status.reason = "routing table \(table) has no route"
            return status
        }
        status.up = true
        return status
    }
}

import ConvertProtocol
import Netlink
import PathManager
import Testing

/// Events as rtnetlink would deliver them for gw's uplink A (index 3) and C (index 5).
func link(
    _ index: Int32,
    _ name: String,
    up: Bool = true,
    carrier: Bool = true,
    removed: Bool = false
)
    -> RouteNetlinkEvent
{
    .link(
        LinkState(index: index, name: name, isUp: up, hasCarrier: carrier, isRunning: up && carrier, removed: removed)
    )
}

func address(
    _ index: Int32,
    _ text: String,
    removed: Bool = false,
    flags: UInt32 = 0,
    scope: UInt8 = 0
)
    -> RouteNetlinkEvent
{
    .address(
        AddressState(
            interfaceIndex: index,
            address: IPAddress(text)!,
            prefixLength: text.contains(":") ? 64 : 24,
            removed: removed,
            flags: flags,
            scope: scope
        )
    )
}

@Suite("LinkTable: what links, addresses and routes mean for a path")
struct LinkTableTests {
    let byInterface = PathDefinition(name: "a", interface: "upa0")
    let bySource = PathDefinition(name: "c", source: IPAddress("198.18.3.1"), pathClass: .backup)

    @Test("a path by interface: up with carrier and an address; sources of both families")
    func byInterfaceName() {
        var table = LinkTable()
        #expect(table.status(of: byInterface) == PathStatus(up: false, reason: "interface upa0 does not exist"))
        table.apply(link(3, "upa0"))
        #expect(table.status(of: byInterface).reason == "upa0 has no usable address")
        table.apply(address(3, "fe80::1", scope: 253))
        table.apply(address(3, "2001:db8:18:1::1", flags: 0x40))
        #expect(!table.status(of: byInterface).up, "link-local and tentative addresses do not count")
        table.apply(address(3, "198.18.1.1"))
        table.apply(address(3, "2001:db8:18:1::1"))
        #expect(
            table.status(of: byInterface)
                == PathStatus(
                    up: true,
                    interfaceIndex: 3,
                    v4: IPAddress("198.18.1.1"),
                    v6: IPAddress("2001:db8:18:1::1")
                )
        )
        table.apply(link(3, "upa0", carrier: false))
        #expect(table.status(of: byInterface).reason == "no carrier on upa0")
        table.apply(link(3, "upa0", up: false, carrier: false))
        #expect(table.status(of: byInterface).reason == "upa0 is administratively down")
        table.apply(link(3, "upa0"))
        table.apply(address(3, "198.18.1.1", removed: true))
        #expect(table.status(of: byInterface).v4 == nil && table.status(of: byInterface).up, "IPv6 is left")
        table.apply(link(3, "upa0", removed: true))
        #expect(table.status(of: byInterface).reason == "interface upa0 does not exist")
    }

    @Test("a path by source address follows the interface that holds it")
    func bySourceAddress() {
        var table = LinkTable()
        table.apply(link(5, "upc0"))
        #expect(table.status(of: bySource).reason == "no interface has address 198.18.3.1")
        table.apply(address(5, "198.18.3.1"))
        #expect(table.status(of: bySource) == PathStatus(up: true, interfaceIndex: 5, v4: IPAddress("198.18.3.1")))
        table.apply(link(5, "upc0", carrier: false))
        #expect(!table.status(of: bySource).up)
    }

    @Test("a path with a routing table needs a route in it")
    func routingTable() {
        var table = LinkTable()
        var path = byInterface
        path.table = 101
        table.apply(link(3, "upa0"))
        table.apply(address(3, "198.18.1.1"))
        #expect(table.status(of: path).reason == "routing table 101 has no route")
        let route = RouteState(table: 101, outputInterface: 3, family: 2)
        table.apply(.route(route))
        #expect(table.status(of: path).up)
        var removed = route
        removed.removed = true
        table.apply(.route(removed))
        #expect(!table.status(of: path).up)
    }
}

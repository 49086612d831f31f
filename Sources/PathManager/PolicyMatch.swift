public import ConvertProtocol

/// Which connections a policy takes, by their final destination (what the LAN client dialed).
///
/// Empty lists match anything; when both are given, a connection must match both.
public struct PolicyMatch: Sendable, Hashable {
    /// Destination TCP ports; empty matches every port.
    public var destinationPorts: [UInt16]
    /// Destination networks; empty matches every address.
    public var destinations: [IPNetwork]

    /// A match on ports and networks; the defaults match everything.
    public init(destinationPorts: [UInt16] = [], destinations: [IPNetwork] = []) {
        self.destinationPorts = destinationPorts
        self.destinations = destinations
    }

    /// Whether a connection to `destination` falls under this match.
    public func matches(_ destination: Endpoint) -> Bool {
        if !self.destinationPorts.isEmpty && !self.destinationPorts.contains(destination.port) {
            return false
        }
        if !self.destinations.isEmpty && !self.destinations.contains(where: { $0.contains(destination.address) }) {
            return false
        }
        return true
    }
}

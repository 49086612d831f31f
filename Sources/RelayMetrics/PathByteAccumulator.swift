public import ConvertProtocol
public import RelayCore

/// Turns the subflow byte figures of successive snapshots into per-path byte counts that only grow:
/// each scrape adds what every subflow moved since the previous scrape saw it.
///
/// A subflow's bytes between its last scrape and its end are not counted (the kernel forgets a closed
/// subflow's figures); docs/METRICS.md says so.
public struct PathByteAccumulator: Sendable {
    /// A subflow, by connection and endpoints.
    struct SubflowKey: Hashable {
        var connection: UInt64
        var local: Endpoint
        var remote: Endpoint
    }

    private var lastSeen: [SubflowKey: (sent: UInt64, received: UInt64)] = [:]

    /// An accumulator that has seen nothing.
    public init() {}

    /// The bytes each subflow of `connections` moved since the previous call, summed by the path that
    /// `pathOf` gives its local address (subflows of no path are left out): (path, sent, received).
    public mutating func advance(
        _ connections: [ConnectionSnapshot],
        pathOf: (IPAddress) -> Int?
    ) -> [Int: (sent: UInt64, received: UInt64)] {
        var seen: [SubflowKey: (sent: UInt64, received: UInt64)] = [:]
        var deltas: [Int: (sent: UInt64, received: UInt64)] = [:]
        for connection in connections {
            for subflow in connection.subflows {
                let key = SubflowKey(connection: connection.id, local: subflow.local, remote: subflow.remote)
                let now = (sent: subflow.bytesSent, received: subflow.bytesReceived)
                seen[key] = now
                guard let path = pathOf(subflow.local.address) else { continue }
                let before = lastSeen[key] ?? (0, 0)
                let sent = now.sent >= before.sent ? now.sent - before.sent : now.sent
                let received = now.received >= before.received ? now.received - before.received : now.received
                let total = deltas[path] ?? (0, 0)
                deltas[path] = (total.sent + sent, total.received + received)
            }
        }
        lastSeen = seen
        return deltas
    }
}

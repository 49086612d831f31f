/// The last figures of each subflow of a worker's MPTCP connections, so that the per-path totals only ever
/// grow: a subflow that disappears in mid-connection (a path went down, the path manager destroyed it) takes
/// its figures out of `MPTCP_FULL_INFO`, and they are moved to the closed totals instead of vanishing; a
/// subflow keeps the path it was first seen on, so an address removed and added again cannot make its bytes
/// vanish and come back (counted twice by whoever sums the samples: quotas, health). Kept per slot; only
/// snapshots and closes touch it, never the data path.
struct SubflowLedger {
    /// One subflow's figures as last read.
    struct Figures: Equatable {
        var path: Int
        var acked: UInt64
        var received: UInt64
        var sent: UInt64
        var retransmitted: UInt64
    }

    /// The subflows of one slot's connection, by the kernel's subflow id.
    struct Connection {
        var generation: UInt32
        var subflows: [UInt32: Figures]
    }

    /// By slot index.
    private(set) var connections: [Int: Connection] = [:]

    /// The path a subflow was first seen on, when it is known.
    func path(slot: Int, generation: UInt32, id: UInt32) -> Int? {
        guard let connection = connections[slot], connection.generation == generation else { return nil }
        return connection.subflows[id]?.path
    }

    /// Replaces the figures of slot `slot`'s connection with `current`; returns the figures of the subflows
    /// that were there before and are gone now (their last reading), for the closed totals.
    mutating func update(slot: Int, generation: UInt32, current: [UInt32: Figures]) -> [Figures] {
        var gone: [Figures] = []
        if let previous = connections[slot], previous.generation == generation {
            for (id, figures) in previous.subflows where current[id] == nil { gone.append(figures) }
        }
        connections[slot] = current.isEmpty ? nil : Connection(generation: generation, subflows: current)
        return gone
    }

    /// Forgets slot `slot`'s connection (closed); returns the subflows not in `final` (the close's own
    /// reading), which disappeared since the last snapshot, for the closed totals.
    mutating func close(slot: Int, generation: UInt32, final: Set<UInt32>) -> [Figures] {
        guard let previous = connections[slot], previous.generation == generation else { return [] }
        connections[slot] = nil
        return previous.subflows.filter { !final.contains($0.key) }.map(\.value)
    }
}

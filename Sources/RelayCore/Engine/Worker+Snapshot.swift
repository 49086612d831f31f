internal import CLiburing
import ConvertProtocol
import PathManager

#if canImport(Glibc)
import Glibc
#endif

extension Worker {
    /// What this worker holds now: live connections per listener, and per path the subflows of its MPTCP
    /// connections and what they moved (a getsockopt per MPTCP connection, only when paths are managed).
    /// With `detailed`, also a description of every connection (for `/connections` and `status`); a metrics
    /// scrape asks without, so it builds no per-connection values. Runs on the worker's thread when asked,
    /// between two batches of completions, so it may allocate (a few small arrays when not detailed).
    func snapshot(detailed: Bool) -> EngineSnapshot {
        var list: [ConnectionSnapshot] = []
        var active = Array(repeating: 0, count: statistics.listenerCapacity)
        let pathCount = pathBoard?.plan.paths.count ?? 0
        var pathBytes = Array(repeating: PathByteCount(), count: pathCount)
        var pathSubflows = Array(repeating: 0, count: pathCount)
        var pathHealth = Array(repeating: PathHealthSample(), count: pathCount)
        let subflows = UnsafeMutablePointer<CLiburing_subflow>.allocate(capacity: 32)
        defer { subflows.deallocate() }
        let current = Worker.monotonicNow()
        for slotIndex in 0..<highWater where slots[slotIndex].phase != .free {
            let slot = slots[slotIndex]
            let statisticsIndex = listeners[slot.listener].statisticsIndex
            if statisticsIndex < active.count { active[statisticsIndex] += 1 }
            guard detailed || pathBoard != nil else { continue }
            let role = listeners[slot.listener].spec.role
            let mptcpSocket = role.listensWithMPTCP ? slot.downstream : slot.upstream
            var flows: [SubflowSnapshot] = []
            if mptcpSocket >= 0 && slot.multipath != false {
                let count = CLiburing_mptcp_subflows(mptcpSocket, subflows, 32)
                for index in 0..<max(Int(count), 0) {
                    let entry = subflows[index]
                    guard let local = Self.endpoint(entry.local) else { continue }
                    if let path = addBytes(of: entry, from: local, to: &pathBytes) {
                        pathSubflows[path] += 1
                        pathHealth[path].add(
                            PathHealthSample(
                                sentBytes: entry.bytes_sent,
                                retransmittedBytes: entry.bytes_retrans,
                                rttMicroseconds: UInt64(entry.rtt_us),
                                subflows: 1
                            )
                        )
                    }
                    guard detailed, let remote = Self.endpoint(entry.remote) else { continue }
                    flows.append(
                        SubflowSnapshot(
                            local: local,
                            remote: remote,
                            id: entry.id,
                            rttMicroseconds: entry.rtt_us,
                            bytesSent: entry.bytes_acked,
                            bytesReceived: entry.bytes_received
                        )
                    )
                }
            }
            guard detailed else { continue }
            list.append(
                ConnectionSnapshot(
                    id: UInt64(index) << 48 | UInt64(slot.generation & 0x00FF_FFFF) << 24 | UInt64(slotIndex),
                    listener: statisticsIndex,
                    client: slot.peer,
                    destination: slot.destination,
                    ageSeconds: Double(current &- slot.startedAt) / 1e9,
                    bytesUp: slot.toUpstream.bytes,
                    bytesDown: slot.toDownstream.bytes,
                    phase: "\(slot.phase)",
                    multipath: slot.multipath,
                    policy: slot.policy.map(Int.init),
                    subflows: flows
                )
            )
        }
        var snapshot = EngineSnapshot(
            connections: list,
            closedPathBytes: closedPathBytes,
            pipes: PipeCount(inUse: pipes.inUse, idle: pipes.idleCount)
        )
        snapshot.activeByListener = active
        snapshot.livePathBytes = pathBytes
        snapshot.liveSubflowsByPath = pathSubflows
        snapshot.livePathHealth = pathHealth
        return snapshot
    }

    /// Adds the final byte counts of a closing MPTCP connection's subflows to ``closedPathBytes`` (only
    /// when paths are managed: the subflows are attributed by source address).
    func countClosedSubflows(of fd: Int32) {
        guard pathBoard != nil, fd >= 0 else { return }
        var flows = (
            CLiburing_subflow(), CLiburing_subflow(), CLiburing_subflow(), CLiburing_subflow(),
            CLiburing_subflow(), CLiburing_subflow(), CLiburing_subflow(), CLiburing_subflow()
        )
        withUnsafeMutableBytes(of: &flows) { raw in
            let entries = raw.baseAddress!.assumingMemoryBound(to: CLiburing_subflow.self)
            let count = CLiburing_mptcp_subflows(fd, entries, 8)
            for index in 0..<max(Int(count), 0) {
                guard let local = Self.endpoint(entries[index].local) else { continue }
                _ = addBytes(of: entries[index], from: local, to: &closedPathBytes)
            }
        }
    }

    /// Adds what subflow `entry` (whose local end is `local`) moved to its path's count in `totals`; returns
    /// that path, or nil when the subflow's source is no managed path.
    private func addBytes(
        of entry: CLiburing_subflow,
        from local: Endpoint,
        to totals: inout [PathByteCount]
    ) -> Int? {
        guard let path = pathBoard?.path(of: local.address), path < totals.count else { return nil }
        totals[path].sent &+= entry.bytes_acked
        totals[path].received &+= entry.bytes_received
        return path
    }

    /// The endpoint of a `sockaddr_storage` holding a `sockaddr_in` or `sockaddr_in6`.
    static func endpoint(_ storage: sockaddr_storage) -> Endpoint? {
        var address = SocketAddress()
        withUnsafeBytes(of: storage) { raw in
            withUnsafeMutableBytes(of: &address.storage) { target in
                target.copyMemory(from: UnsafeRawBufferPointer(rebasing: raw.prefix(target.count)))
            }
        }
        return address.endpoint
    }
}

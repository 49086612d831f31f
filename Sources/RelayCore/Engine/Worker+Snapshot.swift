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
                var figures: [UInt32: SubflowLedger.Figures] = [:]
                for index in 0..<max(Int(count), 0) {
                    let entry = subflows[index]
                    guard let local = Self.endpoint(entry.local) else { continue }
                    let known = subflowLedger.path(slot: slotIndex, generation: slot.generation, id: entry.id)
                    if let path = known ?? pathBoard?.path(of: local.address), path < pathCount {
                        pathBytes[path].sent &+= entry.bytes_acked
                        pathBytes[path].received &+= entry.bytes_received
                        pathSubflows[path] += 1
                        pathHealth[path].add(
                            PathHealthSample(
                                sentBytes: entry.bytes_sent,
                                retransmittedBytes: entry.bytes_retrans,
                                rttMicroseconds: UInt64(entry.rtt_us),
                                subflows: 1
                            )
                        )
                        figures[entry.id] = SubflowLedger.Figures(
                            path: path,
                            acked: entry.bytes_acked,
                            received: entry.bytes_received,
                            sent: entry.bytes_sent,
                            retransmitted: entry.bytes_retrans
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
                // A failed read says nothing: the subflows keep their last figures until the next one.
                if count >= 0 {
                    for gone in subflowLedger.update(slot: slotIndex, generation: slot.generation, current: figures) {
                        addClosed(gone)
                    }
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
        // Cumulative: the subflows gone so far, plus the live ones (a series that only grows).
        for (path, closed) in closedPathHealth.enumerated() where path < pathHealth.count {
            pathHealth[path].sentBytes &+= closed.sentBytes
            pathHealth[path].retransmittedBytes &+= closed.retransmittedBytes
        }
        snapshot.livePathHealth = pathHealth
        return snapshot
    }

    /// Adds a gone subflow's last figures to the closed totals.
    private func addClosed(_ figures: SubflowLedger.Figures) {
        guard figures.path < closedPathBytes.count else { return }
        closedPathBytes[figures.path].sent &+= figures.acked
        closedPathBytes[figures.path].received &+= figures.received
        closedPathHealth[figures.path].sentBytes &+= figures.sent
        closedPathHealth[figures.path].retransmittedBytes &+= figures.retransmitted
    }

    /// Adds the final figures of a closing MPTCP connection's subflows to the closed totals (only when paths
    /// are managed), with those of its subflows that disappeared since the last snapshot (``subflowLedger``).
    func countClosedSubflows(of fd: Int32, slot slotIndex: Int) {
        guard pathBoard != nil, fd >= 0 else { return }
        let generation = slots[slotIndex].generation
        var flows = (
            CLiburing_subflow(), CLiburing_subflow(), CLiburing_subflow(), CLiburing_subflow(),
            CLiburing_subflow(), CLiburing_subflow(), CLiburing_subflow(), CLiburing_subflow()
        )
        withUnsafeMutableBytes(of: &flows) { raw in
            let entries = raw.baseAddress!.assumingMemoryBound(to: CLiburing_subflow.self)
            let count = CLiburing_mptcp_subflows(fd, entries, 8)
            var final: Set<UInt32> = []
            for index in 0..<max(Int(count), 0) {
                let entry = entries[index]
                guard let local = Self.endpoint(entry.local) else { continue }
                let known = subflowLedger.path(slot: slotIndex, generation: generation, id: entry.id)
                guard let path = known ?? pathBoard?.path(of: local.address) else { continue }
                final.insert(entry.id)
                addClosed(
                    SubflowLedger.Figures(
                        path: path,
                        acked: entry.bytes_acked,
                        received: entry.bytes_received,
                        sent: entry.bytes_sent,
                        retransmitted: entry.bytes_retrans
                    )
                )
            }
            for gone in subflowLedger.close(slot: slotIndex, generation: generation, final: final) { addClosed(gone) }
        }
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

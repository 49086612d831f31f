internal import CLiburing
import ConvertProtocol
import PathManager

#if canImport(Glibc)
import Glibc
#endif

extension Worker {
    /// Describes every live connection of this worker, with the subflows of its MPTCP socket. Runs on the
    /// worker's thread when asked (scrape time), so it may allocate.
    func snapshot() -> EngineSnapshot {
        var list: [ConnectionSnapshot] = []
        let subflows = UnsafeMutablePointer<CLiburing_subflow>.allocate(capacity: 32)
        defer { subflows.deallocate() }
        let current = Worker.monotonicNow()
        for slotIndex in 0..<highWater where slots[slotIndex].phase != .free {
            let slot = slots[slotIndex]
            let role = listeners[slot.listener].spec.role
            let mptcpSocket = role.listensWithMPTCP ? slot.downstream : slot.upstream
            var flows: [SubflowSnapshot] = []
            if mptcpSocket >= 0 && slot.multipath != false {
                let count = CLiburing_mptcp_subflows(mptcpSocket, subflows, 32)
                for index in 0..<max(Int(count), 0) {
                    let entry = subflows[index]
                    guard let local = Self.endpoint(entry.local), let remote = Self.endpoint(entry.remote) else {
                        continue
                    }
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
            list.append(
                ConnectionSnapshot(
                    id: UInt64(index) << 48 | UInt64(slot.generation & 0x00FF_FFFF) << 24 | UInt64(slotIndex),
                    listener: listeners[slot.listener].statisticsIndex,
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
        return EngineSnapshot(
            connections: list,
            closedPathBytes: closedPathBytes,
            pipes: PipeCount(inUse: pipes.inUse, idle: pipes.idleCount)
        )
    }

    /// Adds the final byte counts of a closing MPTCP connection's subflows to ``closedPathBytes`` (only
    /// when paths are managed: the subflows are attributed by source address).
    func countClosedSubflows(of fd: Int32) {
        guard let board = pathBoard, fd >= 0 else { return }
        var flows = (
            CLiburing_subflow(), CLiburing_subflow(), CLiburing_subflow(), CLiburing_subflow(),
            CLiburing_subflow(), CLiburing_subflow(), CLiburing_subflow(), CLiburing_subflow()
        )
        withUnsafeMutableBytes(of: &flows) { raw in
            let entries = raw.baseAddress!.assumingMemoryBound(to: CLiburing_subflow.self)
            let count = CLiburing_mptcp_subflows(fd, entries, 8)
            for index in 0..<max(Int(count), 0) {
                guard let local = Self.endpoint(entries[index].local), let path = board.path(of: local.address),
                    path < closedPathBytes.count
                else { continue }
                closedPathBytes[path].sent &+= entries[index].bytes_acked
                closedPathBytes[path].received &+= entries[index].bytes_received
            }
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

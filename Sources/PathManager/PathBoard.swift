public import ConvertProtocol
import Synchronization

/// The state the path manager thread and the relay's workers share, without locks: which paths are up,
/// which policy each of the relay's MPTCP connections follows, and which connections must close because
/// every path their policy allows is down.
///
/// Workers look a connection up by its initial subflow: the path it leaves on, its family and its local
/// port (a ``ConnectionKey``). A worker registers that key before connecting, so the path manager finds the
/// policy when the kernel announces the connection, and unregisters it before closing the socket, so a
/// port is never reused under a stale entry.
public final class PathBoard: @unchecked Sendable {
    // @unchecked: `entries` is a raw pointer to atomics, allocated once in init and freed in deinit; every
    // access after init goes through Atomic operations, so sharing the board between threads is safe.

    /// The plan the board was made for.
    public let plan: PathPlan

    private let upMask = Atomic<UInt64>(0)
    private let exhaustedMask = Atomic<UInt64>(0)
    private let degradedMask = Atomic<UInt64>(0)
    private let unreachableMask = Atomic<UInt64>(0)
    private let refusedSubflows = Atomic<UInt64>(0)
    private let trackedConnections = Atomic<Int>(0)
    private let staleConnections = Atomic<UInt64>(0)
    private let entries: UnsafeMutablePointer<Atomic<UInt8>>
    private let cells: UnsafeMutablePointer<PathCell>
    /// Per policy: how many connections `weighted` steering has placed (the position in its cycle).
    private let placements: UnsafeMutablePointer<Atomic<UInt64>>
    /// Every policy by index: the plan's, then those reloads added. An entry is never changed or removed
    /// (a live connection's registered index keeps naming the policy it started with); a slot is written
    /// before `publishedPolicies` publishes it, and read only below the published count.
    private let policyTable: UnsafeMutablePointer<SubflowPolicy>
    private let publishedPolicies = Atomic<Int>(0)
    /// Serializes the writers of `policyTable` (reloads).
    private let policyWriter = Mutex<Void>(())
    private static let entryCount = PathPlan.maximumPaths * 2 * 65536
    /// The bit of an entry that asks the owning worker to close the connection.
    private static let closeRequested: UInt8 = 0x80

    /// A board for `plan`, every path down and without source addresses until the path manager sets them.
    public init(plan: PathPlan) {
        self.plan = plan
        entries = .allocate(capacity: Self.entryCount)
        for index in 0..<Self.entryCount {
            (entries + index).initialize(to: Atomic(0))
        }
        cells = .allocate(capacity: plan.paths.count)
        for index in plan.paths.indices {
            (cells + index).initialize(to: PathCell())
        }
        placements = .allocate(capacity: PathPlan.maximumPolicies)
        for index in 0..<PathPlan.maximumPolicies {
            (placements + index).initialize(to: Atomic(0))
        }
        precondition(plan.policies.count <= PathPlan.maximumPolicies, "more policies than the board registers")
        policyTable = .allocate(capacity: PathPlan.maximumPolicies)
        for (index, policy) in plan.policies.enumerated() {
            (policyTable + index).initialize(to: policy)
        }
        publishedPolicies.store(plan.policies.count, ordering: .releasing)
    }

    deinit {
        entries.deinitialize(count: Self.entryCount)
        entries.deallocate()
        cells.deinitialize(count: plan.paths.count)
        cells.deallocate()
        placements.deinitialize(count: PathPlan.maximumPolicies)
        placements.deallocate()
        policyTable.deinitialize(count: publishedPolicies.load(ordering: .acquiring))
        policyTable.deallocate()
    }

    // MARK: Source addresses (written by the path manager, which follows the interfaces' addresses)

    /// Path `index`'s current source address of the family of `remote`, if it has one.
    public func source(of index: Int, for remote: IPAddress) -> IPAddress? {
        remote.isIPv4 ? cells[index].loadV4() : cells[index].loadV6()
    }

    /// Sets (or, with nil, clears) path `index`'s source address of `family`'s family.
    public func setSource(of index: Int, ipv6: Bool, to address: IPAddress?) {
        if ipv6 {
            cells[index].storeV6(address)
        } else {
            cells[index].storeV4(address)
        }
    }

    // MARK: Counters (written by the path manager, read by metrics)

    /// Counts a transition of path `index`.
    public func countTransition(of index: Int, up: Bool) {
        if up {
            cells[index].wentUp.wrappingAdd(1, ordering: .relaxed)
        } else {
            cells[index].wentDown.wrappingAdd(1, ordering: .relaxed)
        }
    }

    /// Counts a backup promotion onto path `index` (a subflow opened or un-flagged there because no primary
    /// of a connection's policy was left).
    public func countPromotion(of index: Int) {
        cells[index].promotions.wrappingAdd(1, ordering: .relaxed)
    }

    /// Counts a subflow the path manager destroyed because it did not open it (the peer's join).
    public func countRefusedSubflow() {
        refusedSubflows.wrappingAdd(1, ordering: .relaxed)
    }

    /// Subflows destroyed because the path manager did not open them.
    public var refusedSubflowCount: UInt64 { refusedSubflows.load(ordering: .relaxed) }

    /// Publishes how many connections the path manager's table holds (its own and the peer's).
    public func setTrackedConnectionCount(_ count: Int) {
        trackedConnections.store(count, ordering: .relaxed)
    }

    /// The connections in the path manager's table, as last published.
    public var trackedConnectionCount: Int { trackedConnections.load(ordering: .relaxed) }

    /// Counts a connection dropped from the path manager's table because the kernel no longer knew it.
    public func countStaleConnection() {
        staleConnections.wrappingAdd(1, ordering: .relaxed)
    }

    /// Connections dropped from the path manager's table because the kernel no longer knew them.
    public var staleConnectionCount: UInt64 { staleConnections.load(ordering: .relaxed) }

    /// Path `index`'s counters: times it came up, went down, and took a promoted backup subflow.
    public func counters(of index: Int) -> (wentUp: UInt64, wentDown: UInt64, promotions: UInt64) {
        let cell = cells + index
        return (
            cell.pointee.wentUp.load(ordering: .relaxed), cell.pointee.wentDown.load(ordering: .relaxed),
            cell.pointee.promotions.load(ordering: .relaxed)
        )
    }

    // MARK: Path state (written by the path manager)

    /// Whether path `index` is up: its link, address (and route) are there, and its probe, if any, gets
    /// answers.
    public func isUp(_ index: Int) -> Bool {
        upPaths & (1 << UInt64(index)) != 0
    }

    /// The up paths as a bit mask (bit N is path N): ``linkUpPaths`` less the ``unreachablePaths``, unless
    /// that leaves none: when every path whose link is up fails its probes, the probes (one target, gone or
    /// refusing SYNs) are doubted before the paths, and the links decide.
    public var upPaths: UInt64 {
        let link = upMask.load(ordering: .acquiring)
        let reachable = link & ~unreachableMask.load(ordering: .acquiring)
        return reachable != 0 ? reachable : link
    }

    /// The paths whose link, address (and route) are there, whatever their probes say.
    public var linkUpPaths: UInt64 { upMask.load(ordering: .acquiring) }

    /// Paths whose probes (`[[path]] probe`) went unanswered: down for everyone while they stay so.
    public var unreachablePaths: UInt64 { unreachableMask.load(ordering: .acquiring) }

    /// Marks path `index` unreachable (its probes fail) or reachable again.
    public func setUnreachable(_ index: Int, _ unreachable: Bool) {
        Self.set(index, unreachable, in: unreachableMask)
    }

    /// Marks path `index` up or down.
    public func setUp(_ index: Int, _ up: Bool) {
        Self.set(index, up, in: upMask)
    }

    /// Sets or clears bit `index` of `mask`.
    private static func set(_ index: Int, _ on: Bool, in mask: borrowing Atomic<UInt64>) {
        if on {
            mask.bitwiseOr(1 << UInt64(index), ordering: .releasing)
        } else {
            mask.bitwiseAnd(~(1 << UInt64(index)), ordering: .releasing)
        }
    }

    /// The bytes path `index` has carried against its quota in the current period, as last published.
    public func quotaUsed(of index: Int) -> UInt64 {
        cells[index].quotaUsed.load(ordering: .relaxed)
    }

    /// Publishes the bytes path `index` has carried against its quota in the current period.
    public func setQuotaUsed(of index: Int, _ bytes: UInt64) {
        cells[index].quotaUsed.store(bytes, ordering: .relaxed)
    }

    /// Paths the health checks found degraded (lossy or slow), as a bit mask (bit N is path N).
    public var degradedPaths: UInt64 { degradedMask.load(ordering: .acquiring) }

    /// Marks path `index` degraded, or healthy.
    public func setDegraded(_ index: Int, _ degraded: Bool) {
        Self.set(index, degraded, in: degradedMask)
    }

    /// Publishes what the health checks measured on path `index`: the share of bytes retransmitted and the
    /// mean smoothed RTT in microseconds.
    public func setMeasurements(of index: Int, loss: Double, rttMicroseconds: UInt64) {
        cells[index].lossMillionths.store(UInt64(max(0, min(1, loss)) * 1e6), ordering: .relaxed)
        cells[index].rttMicroseconds.store(rttMicroseconds, ordering: .relaxed)
    }

    /// What the health checks last measured on path `index` (loss share, mean smoothed RTT in microseconds).
    public func measurements(of index: Int) -> (loss: Double, rttMicroseconds: UInt64) {
        (
            Double(cells[index].lossMillionths.load(ordering: .relaxed)) / 1e6,
            cells[index].rttMicroseconds.load(ordering: .relaxed)
        )
    }

    /// Paths whose quota is used up for the current period, as a bit mask (bit N is path N).
    public var exhaustedPaths: UInt64 { exhaustedMask.load(ordering: .acquiring) }

    /// Marks path `index`'s quota used up for the current period, or not.
    public func setExhausted(_ index: Int, _ exhausted: Bool) {
        Self.set(index, exhausted, in: exhaustedMask)
    }

    /// The up paths a connection under `policy` may use: without those whose quota is used up, unless no
    /// other path the policy allows is up (a path over its quota is the last resort, not a dead one).
    public func usablePaths(for policy: SubflowPolicy, up: UInt64? = nil) -> UInt64 {
        Self.usable(up: up ?? upPaths, exhausted: exhaustedPaths, allowed: policy.allowedMask)
    }

    /// ``usablePaths(for:up:)`` from its parts.
    static func usable(up: UInt64, exhausted: UInt64, allowed: UInt64) -> UInt64 {
        let fresh = up & ~exhausted
        return fresh & allowed != 0 ? fresh : up
    }

    /// The path whose current source address is `address`, if any.
    public func path(of address: IPAddress) -> Int? {
        plan.paths.indices.first { source(of: $0, for: address) == address }
    }

    // MARK: Choosing the initial path (workers)

    /// The path a new connection under `policy` leaves on, with its source address for the family of
    /// `upstream`: the first up path of the policy's primaries with such a source (with `weighted`
    /// steering, one of them in turn, in proportion to the weights), else the first such backup; nil when
    /// none is up. Paths in `excluding` (bit N is path N) are passed over.
    public func initialPath(
        policy: Int,
        upstream: IPAddress,
        excluding: UInt64 = 0
    ) -> (index: Int, source: IPAddress)? {
        let chosen = self.policy(policy)
        // Only paths with a source of the upstream's family can carry the connection: a used-up or degraded
        // path of the other family must not make the last usable one look like the last resort.
        var candidates = upPaths & ~excluding
        for index in plan.paths.indices where candidates & (1 << UInt64(index)) != 0 {
            if source(of: index, for: upstream) == nil { candidates &= ~(1 << UInt64(index)) }
        }
        var mask = usablePaths(for: chosen, up: candidates)
        // Degraded primaries are passed over while a healthy one is up.
        let primaries = chosen.primaryMask & mask
        if primaries & ~degradedPaths != 0 { mask &= ~(degradedPaths & chosen.primaryMask) }
        if chosen.steering == .weighted,
            let weighted = weightedPath(chosen, cycle: policy, upstream: upstream, mask: mask)
        {
            return weighted
        }
        if chosen.steering == .lowestRTT, let fastest = fastestPath(chosen, upstream: upstream, mask: mask) {
            return fastest
        }
        for index in chosen.paths where mask & (1 << UInt64(index)) != 0 {
            if let source = source(of: index, for: upstream) { return (index, source) }
        }
        for index in chosen.backups where mask & (1 << UInt64(index)) != 0 {
            if let source = source(of: index, for: upstream) { return (index, source) }
        }
        return nil
    }

    /// `lowest-rtt` steering: the usable primary (up, in `mask`, with a source for `upstream`'s family) with
    /// the lowest measured RTT; nil when none has been measured (the caller then takes the first up one).
    private func fastestPath(
        _ chosen: SubflowPolicy,
        upstream: IPAddress,
        mask: UInt64
    ) -> (index: Int, source: IPAddress)? {
        var best: (index: Int, source: IPAddress, rtt: UInt64)?
        for index in chosen.paths where mask & (1 << UInt64(index)) != 0 {
            let rtt = cells[index].rttMicroseconds.load(ordering: .relaxed)
            guard rtt > 0, let source = source(of: index, for: upstream) else { continue }
            if best == nil || rtt < best!.rtt { best = (index, source, rtt) }
        }
        return best.map { ($0.index, $0.source) }
    }

    /// `weighted` steering: the next place in the policy's cycle over its usable primaries (up, in `mask`,
    /// with a source for `upstream`'s family), where each takes as many places as its weight. The cycle
    /// counter is shared by every worker, so the split holds for the relay as a whole. Two passes over the
    /// paths rather than a list of candidates: this runs for every accepted connection.
    private func weightedPath(
        _ chosen: SubflowPolicy,
        cycle policy: Int,
        upstream: IPAddress,
        mask: UInt64
    ) -> (index: Int, source: IPAddress)? {
        let usable = { (index: Int) in mask & (1 << UInt64(index)) != 0 && self.source(of: index, for: upstream) != nil
        }
        var total = 0
        for (position, index) in chosen.paths.enumerated() where usable(index) {
            total += chosen.weights[position]
        }
        guard total > 0 else { return nil }
        var place = Int(placements[policy].wrappingAdd(1, ordering: .relaxed).oldValue % UInt64(total))
        for (position, index) in chosen.paths.enumerated() where usable(index) {
            if place < chosen.weights[position], let source = source(of: index, for: upstream) {
                return (index, source)
            }
            place -= chosen.weights[position]
        }
        return nil
    }

    // MARK: Policies (the plan's, then what reloads added)

    /// The policy at `index` (an index the table has published: from ``policyIndex(for:order:)``, a
    /// registration, or below ``policyCount``).
    public func policy(_ index: Int) -> SubflowPolicy {
        precondition(
            index >= 0 && index < publishedPolicies.load(ordering: .acquiring),
            "policy \(index) not published"
        )
        return policyTable[index]
    }

    /// How many policies the table holds.
    public var policyCount: Int { publishedPolicies.load(ordering: .acquiring) }

    /// Every policy of the table, by index.
    public var allPolicies: [SubflowPolicy] {
        (0..<policyCount).map { policyTable[$0] }
    }

    /// The plan as it stands: the configured paths and mode, and every policy of the table.
    public var currentPlan: PathPlan { plan.replacingPolicies(allPolicies) }

    /// The plan's own order of policies: what ``policyIndex(for:order:)`` matches before any reload.
    public var initialPolicyOrder: [Int] { Array(plan.policies.indices) }

    /// The first policy in `order` whose match takes `destination`; the last one of `order` (the implicit
    /// default) when none does.
    public func policyIndex(for destination: Endpoint, order: [Int]) -> Int {
        for index in order where policyTable[index].match.matches(destination) {
            return index
        }
        return order[order.count - 1]
    }

    /// Takes `policies` (a reloaded configuration's, the implicit default last) into the table: each one
    /// equal to an entry already there keeps that entry's index, the others are appended. Returns the
    /// indices in `policies`' order (the new matching order), or nil, with the table unchanged, when the
    /// new ones do not fit (``PathPlan/maximumPolicies`` over the process's life: restart to apply).
    public func adoptPolicies(_ policies: [SubflowPolicy]) -> [Int]? {
        policyWriter.withLock { _ in
            let count = publishedPolicies.load(ordering: .acquiring)
            var order: [Int] = []
            var added: [SubflowPolicy] = []
            for policy in policies {
                if let index = (0..<count).first(where: { policyTable[$0] == policy }) {
                    order.append(index)
                } else if let offset = added.firstIndex(of: policy) {
                    order.append(count + offset)
                } else {
                    order.append(count + added.count)
                    added.append(policy)
                }
            }
            guard count + added.count <= PathPlan.maximumPolicies, !order.isEmpty else { return nil }
            for (offset, policy) in added.enumerated() {
                (policyTable + count + offset).initialize(to: policy)
            }
            publishedPolicies.store(count + added.count, ordering: .releasing)
            return order
        }
    }

    // MARK: Connection registry (workers write, the path manager reads)

    /// Records that the connection `key` follows policy `policy`.
    public func register(_ key: ConnectionKey, policy: Int) {
        entries[key.offset].store(UInt8(policy + 1), ordering: .releasing)
    }

    /// Forgets the connection `key` (call before closing its socket).
    public func unregister(_ key: ConnectionKey) {
        entries[key.offset].store(0, ordering: .releasing)
    }

    /// The policy of the connection `key`, or nil when no worker registered it.
    public func policy(of key: ConnectionKey) -> Int? {
        let entry = entries[key.offset].load(ordering: .acquiring) & ~Self.closeRequested
        return entry == 0 ? nil : Int(entry) - 1
    }

    /// Asks the worker that owns `key` to close it (every path its policy allows is down).
    public func requestClose(_ key: ConnectionKey) {
        let entry = entries[key.offset].load(ordering: .acquiring)
        guard entry != 0 else { return }
        _ = entries[key.offset].compareExchange(
            expected: entry,
            desired: entry | Self.closeRequested,
            ordering: .acquiringAndReleasing
        )
    }

    /// Whether the path manager asked for `key` to be closed.
    public func isCloseRequested(_ key: ConnectionKey) -> Bool {
        entries[key.offset].load(ordering: .acquiring) & Self.closeRequested != 0
    }
}

/// A relayed MPTCP connection as the ``PathBoard`` knows it: its initial subflow's path, family and local port.
public struct ConnectionKey: Sendable, Hashable {
    /// The path of the initial subflow.
    public var path: Int
    /// Whether the connection is IPv6.
    public var ipv6: Bool
    /// The initial subflow's local port.
    public var port: UInt16

    /// A key from its parts.
    public init(path: Int, ipv6: Bool, port: UInt16) {
        self.path = path
        self.ipv6 = ipv6
        self.port = port
    }

    /// The index of this key's entry.
    var offset: Int { (path * 2 + (ipv6 ? 1 : 0)) << 16 | Int(port) }
}

/// One path's shared state as atomics: its source addresses, IPv4 in one word (0: none), IPv6 in two words
/// under a sequence counter (odd while the single writer, the path manager, is storing), and its counters.
struct PathCell: ~Copyable {
    let v4 = Atomic<UInt32>(0)
    let v6Sequence = Atomic<UInt64>(0)
    let v6High = Atomic<UInt64>(0)
    let v6Low = Atomic<UInt64>(0)
    let v6Present = Atomic<Bool>(false)
    let wentUp = Atomic<UInt64>(0)
    let wentDown = Atomic<UInt64>(0)
    let promotions = Atomic<UInt64>(0)
    let quotaUsed = Atomic<UInt64>(0)
    /// The measured share of retransmitted bytes, in millionths.
    let lossMillionths = Atomic<UInt64>(0)
    /// The measured mean smoothed RTT, in microseconds (0: not measured).
    let rttMicroseconds = Atomic<UInt64>(0)

    func loadV4() -> IPAddress? {
        let value = v4.load(ordering: .acquiring)
        return value == 0 ? nil : .v4(value)
    }

    func storeV4(_ address: IPAddress?) {
        if case .v4(let value) = address {
            v4.store(value, ordering: .releasing)
        } else {
            v4.store(0, ordering: .releasing)
        }
    }

    /// A consistent IPv6 read: retried (a bounded number of times) while a store is in progress.
    func loadV6() -> IPAddress? {
        for _ in 0..<64 {
            let before = v6Sequence.load(ordering: .acquiring)
            guard before & 1 == 0 else { continue }
            let present = v6Present.load(ordering: .acquiring)
            let high = v6High.load(ordering: .acquiring)
            let low = v6Low.load(ordering: .acquiring)
            if v6Sequence.load(ordering: .acquiring) == before {
                return present ? .v6(high: high, low: low) : nil
            }
        }
        return nil
    }

    func storeV6(_ address: IPAddress?) {
        v6Sequence.wrappingAdd(1, ordering: .acquiringAndReleasing)
        if case .v6(let high, let low) = address {
            v6High.store(high, ordering: .releasing)
            v6Low.store(low, ordering: .releasing)
            v6Present.store(true, ordering: .releasing)
        } else {
            v6Present.store(false, ordering: .releasing)
        }
        v6Sequence.wrappingAdd(1, ordering: .acquiringAndReleasing)
    }
}

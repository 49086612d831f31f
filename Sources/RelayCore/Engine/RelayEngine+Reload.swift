internal import CLiburing
import ConvertProtocol
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A listener as the engine tracks it across reloads: the same entry, at the same index, in every worker.
struct ListenerEntry: Sendable {
    var spec: ListenerSpec
    /// One listening socket per worker.
    var fds: [Int32]
    var statisticsIndex: Int
    /// False once a reload retired it (its connections may still be running).
    var open: Bool
}

/// What a reload changed, by listener name.
public struct ListenerChanges: Sendable, Equatable {
    /// Listeners that are new: their sockets accept now.
    public var added: [String] = []
    /// Listeners that are gone: they stopped accepting; their connections finish as they would have.
    public var removed: [String] = []
    /// Listeners whose settings changed: new connections get the new ones, live ones keep theirs.
    public var changed: [String] = []

    /// Whether nothing changed.
    public var isEmpty: Bool { added.isEmpty && removed.isEmpty && changed.isEmpty }
}

/// Why a reload did not happen (the running listeners are as they were).
public enum ReloadFailure: Error, CustomStringConvertible {
    /// The engine is not running, or is stopping.
    case notRunning
    /// Reloads have added more listener names than the counters have room for: restart to reload further.
    case tooManyListeners(capacity: Int)
    /// A new listener's socket could not be opened (for example, its address is not local).
    case socket(listener: String, SystemCallError)

    public var description: String {
        switch self {
        case .notRunning: "the relay is not running or is stopping"
        case .tooManyListeners(let capacity):
            "more than \(capacity) listener names over this process's life: restart to apply this configuration"
        case .socket(let listener, let error): "listener \(listener): \(error)"
        }
    }
}

/// One worker's share of a reload, applied between two batches of completions.
struct WorkerReload: Sendable {
    /// A new entry: its spec, this worker's socket, and its counters' index.
    struct Addition: Sendable {
        var spec: ListenerSpec
        var fd: Int32
        var statisticsIndex: Int
    }

    /// Appended to the worker's listeners, in order (the same indices in every worker).
    var additions: [Addition]
    /// Entries that stop accepting; with `handOver`, an addition took their socket, which stays open.
    var retirements: [(index: Int, handOver: Bool)]
    /// The path board's policy indices in matching order for new connections, when the policies changed.
    var policyOrder: [Int]? = nil
}

extension RelayEngine {
    /// How long ``reload(listeners:)`` waits for every worker to apply the change.
    static let reloadWaitMicroseconds: UInt32 = 5_000_000

    /// Replaces the running listeners with `specs` without dropping a connection: listeners whose spec is
    /// the same are left alone; a changed one (same name) keeps its socket when its address and kind
    /// (MPTCP, transparent) are the same, so nothing in its accept queue is lost, and serves new
    /// connections with the new spec while live ones keep the old; new names open and accept; names no
    /// longer there stop accepting and close their sockets, and their connections run to their end.
    /// Throws, having changed nothing, when a new socket cannot be opened. `policyOrder` (the path board's
    /// policy indices in matching order, after ``PathBoard/adoptPolicies(_:)``) is what new connections
    /// match from now on; live ones keep the policy they started with.
    public func reload(
        listeners specs: [ListenerSpec],
        policyOrder: [Int]? = nil
    ) throws(ReloadFailure) -> ListenerChanges {
        let own = Set(LocalAddresses.current())
        let specs = specs.map { RelayEngine.withOwnAddresses($0, own) }
        let (table, serverFastOpen, running) = state.withLock {
            ($0.table, $0.serverFastOpen, $0.started && !$0.draining && $0.running > 0)
        }
        guard running else { throw .notRunning }
        var openByName: [String: Int] = [:]
        for (index, entry) in table.enumerated() where entry.open { openByName[entry.spec.name] = index }
        var changes = ListenerChanges()
        var additions: [(spec: ListenerSpec, fds: [Int32], statisticsIndex: Int, opened: Bool)] = []
        var retirements: [(index: Int, handOver: Bool)] = []
        var bound: [String: Endpoint] = [:]
        var kept = Set<Int>()
        do throws(ReloadFailure) {
            for spec in specs {
                if let old = openByName[spec.name] {
                    kept.insert(old)
                    if table[old].spec == spec { continue }
                    changes.changed.append(spec.name)
                    if RelayEngine.sameSocket(table[old].spec, spec) {
                        additions.append((spec, table[old].fds, table[old].statisticsIndex, false))
                        retirements.append((old, true))
                        continue
                    }
                    let (fds, endpoint) = try openForReload(spec, serverFastOpen)
                    bound[spec.name] = endpoint
                    additions.append((spec, fds, table[old].statisticsIndex, true))
                    retirements.append((old, false))
                } else {
                    guard let statisticsIndex = statistics.index(of: spec.name) else {
                        throw .tooManyListeners(capacity: statistics.listenerCapacity)
                    }
                    let (fds, endpoint) = try openForReload(spec, serverFastOpen)
                    bound[spec.name] = endpoint
                    changes.added.append(spec.name)
                    additions.append((spec, fds, statisticsIndex, true))
                }
            }
        } catch {
            for addition in additions where addition.opened { for fd in addition.fds { close(fd) } }
            throw error
        }
        for (index, entry) in table.enumerated() where entry.open && !kept.contains(index) {
            changes.removed.append(entry.spec.name)
            retirements.append((index, false))
        }
        guard !changes.isEmpty || policyOrder != nil else { return changes }

        let wakeFDs = state.withLock { state -> [Int32] in
            for (index, _) in retirements { state.table[index].open = false }
            for addition in additions {
                state.table.append(
                    ListenerEntry(
                        spec: addition.spec,
                        fds: addition.fds,
                        statisticsIndex: addition.statisticsIndex,
                        open: true
                    )
                )
            }
            for name in changes.removed { state.bound[name] = nil }
            state.bound.merge(bound) { _, new in new }
            return state.wakeFDs
        }
        var applied: [Int] = []
        for (worker, control) in controls.enumerated() {
            applied.append(control.reloadsApplied.load(ordering: .acquiring))
            control.request(
                WorkerReload(
                    additions: additions.map {
                        .init(spec: $0.spec, fd: $0.fds[worker], statisticsIndex: $0.statisticsIndex)
                    },
                    retirements: retirements,
                    policyOrder: policyOrder
                )
            )
            if worker < wakeFDs.count { _ = eventfd_write(wakeFDs[worker], 1) }
        }
        // Bounded: the workers apply it between two batches of completions, within milliseconds.
        var waited: UInt32 = 0
        while waited < RelayEngine.reloadWaitMicroseconds
            && controls.enumerated().contains(where: {
                $0.element.reloadsApplied.load(ordering: .acquiring) == applied[$0.offset]
            })
        {
            usleep(1000)
            waited += 1000
        }
        return changes
    }

    /// The listeners running now (after reloads), in the order they were added.
    public var runningListeners: [ListenerSpec] {
        state.withLock { $0.table.filter(\.open).map(\.spec) }
    }

    /// Whether `new` can take over the listening sockets of `old`: same address, same socket kind.
    static func sameSocket(_ old: ListenerSpec, _ new: ListenerSpec) -> Bool {
        old.listen == new.listen && old.role.listensWithMPTCP == new.role.listensWithMPTCP
            && old.role.listensTransparently == new.role.listensTransparently
    }

    /// A convert listener's destination policy never allows this host's own addresses.
    static func withOwnAddresses(_ spec: ListenerSpec, _ own: Set<IPAddress>) -> ListenerSpec {
        var spec = spec
        if case .convert(var policy, let backend) = spec.role {
            policy.ownAddresses.formUnion(own)
            spec.role = .convert(policy: policy, backend: backend)
        }
        return spec
    }

    private func openForReload(
        _ spec: ListenerSpec,
        _ serverFastOpen: Bool
    ) throws(ReloadFailure) -> (fds: [Int32], endpoint: Endpoint) {
        do {
            return try openSockets(for: spec, serverFastOpen: serverFastOpen)
        } catch {
            throw .socket(listener: spec.name, error)
        }
    }
}

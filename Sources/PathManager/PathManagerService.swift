public import ConvertProtocol
public import Logging
import Netlink
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The relay's path manager: follows the uplinks through rtnetlink and keeps the ``PathBoard`` current,
/// and, depending on the plan's mode, either places every relayed connection's subflows itself through the
/// kernel's `mptcp_pm` generic netlink family (`relay`: the namespace's userspace path manager) or keeps one
/// in-kernel endpoint per up path (`kernel`).
///
/// `start()` opens the sockets, reads the current links, addresses and routes, and switches the namespace's
/// path manager (remembering the old setting); `run()` is the event loop, on a thread of its own; `stop()`
/// ends it and restores what `start()` changed. Everything but `stop()` runs on the loop's thread.
public final class PathManagerService: @unchecked Sendable {
    // @unchecked: after start(), every field is touched only by the thread in run(); stop() only writes the
    // eventfd, and restore() runs after run() has returned (the caller joins the thread first).

    /// The board shared with the workers.
    public let board: PathBoard
    /// The board's plan with every policy of its table (reloads add policies; see `followPolicyTable`).
    private(set) var plan: PathPlan
    private(set) var planner: SubflowPlanner
    var logger: Logger

    var links = LinkTable()
    var statuses: [PathStatus]
    var connections: [UInt32: ManagedConnection] = [:]
    /// Connections the peer opened (server side, accepted by any listener in the namespace): the joins the
    /// peer added to each, which the kernel accepts beyond any limit while the path manager is userspace.
    var peerOpened: [UInt32: [PeerJoin]] = [:]
    /// The most joins a peer may add to a connection it opened: the namespace's `subflows` limit
    /// (`ip mptcp limits`), read at start, which the kernel applies only under its own path manager.
    var peerJoinLimit = 2
    /// When each of `peerOpened` was last known to the kernel (ms, monotonic): created, or answered a probe.
    var peerConfirmedAt: [UInt32: Int64] = [:]
    /// The token of the connection registered last under each key, to spot a key reused by a new connection
    /// while the old one's entry is still here.
    var tokenByKey: [ConnectionKey: UInt32] = [:]
    /// Tokens a command found unknown to the kernel during this loop turn; forgotten at its end.
    var vanished: Set<UInt32> = []
    /// Per connection, per path: do not try to create a subflow again before this time (ms, monotonic).
    var holdOff: [UInt32: [Int: Int64]] = [:]
    /// Per connection, per subflow to an announced address (`join_announced`): the same, apart from the
    /// path's main subflow, so that an address one path cannot reach never holds that path back.
    var laneHoldOff: [UInt32: [JoinLane: Int64]] = [:]
    /// Connections already asked to close.
    var closing: Set<UInt32> = []
    /// Established connections waiting for their join delay to end, in due order (monotonic milliseconds).
    var joinsWaiting: [(token: UInt32, due: Int64)] = []
    /// In-kernel endpoints this service added (`kernel` mode), by path and family, with their ids.
    var endpoints: [EndpointKey: UInt8] = [:]
    /// Ids of the `signal` endpoints added for `[runtime] announce`.
    var announced: [UInt8] = []
    var lastReplan: Int64 = 0
    /// The paths over their quota as of the last loop turn: a change re-plans every connection.
    var lastExhausted: UInt64 = 0
    /// The degraded paths as of the last loop turn: a change re-plans every connection.
    var lastDegraded: UInt64 = 0
    /// The unreachable paths (failing probes) at the last re-plan.
    var lastUnreachable: UInt64 = 0

    var routeEvents: NetlinkSocket?
    var routeRequests: NetlinkSocket?
    var pmEvents: NetlinkSocket?
    var pmRequests: NetlinkSocket?
    var pmFamily: GenericNetlinkFamily?
    /// A pipe: `stop()` writes a byte into `stopPipe[1]`, `run()` polls `stopPipe[0]`.
    let stopPipe: [Int32]
    var previousSysctl: PathManagerSysctl?
    /// Where the replaced setting is saved, for a relay that starts after this one was killed.
    var stateFile: PathManagerStateFile?
    /// The backup flag of every managed subflow, by local endpoint, for `/connections` (read by other threads).
    private let publishedBackups = Mutex<[Endpoint: Bool]>([:])

    /// How long a path that just failed to take a subflow is left alone for that connection.
    static let holdOffMilliseconds: Int64 = 2000
    /// How often every connection is checked again, for hold-offs that ended.
    static let replanIntervalMilliseconds: Int64 = 1000

    /// A service for `board`; nothing is opened until `start()`.
    public init(board: PathBoard, logger: Logger) {
        self.board = board
        self.plan = board.plan
        self.planner = SubflowPlanner(plan: board.plan)
        self.statuses = board.plan.paths.map { _ in PathStatus(up: false, reason: "not seen yet") }
        var logger = logger
        logger[metadataKey: "component"] = "path-manager"
        self.logger = logger
        var fds: [Int32] = [-1, -1]
        if pipe(&fds) != 0 {
            fds = [-1, -1]
        }
        for fd in fds where fd >= 0 { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        stopPipe = fds
    }

    deinit {
        for fd in stopPipe where fd >= 0 { close(fd) }
    }

    /// Opens the netlink sockets, reads the namespace's links, addresses and routes, marks the paths up or
    /// down on the board, and takes over path management as the mode says.
    public func start() throws(PathManagerError) {
        do throws(NetlinkError) {
            let events = try NetlinkSocket(.route)
            for group in [
                RouteNetlinkGroup.link, RouteNetlinkGroup.ipv4Address, RouteNetlinkGroup.ipv6Address,
                RouteNetlinkGroup.ipv4Route, RouteNetlinkGroup.ipv6Route,
            ] {
                try events.joinGroup(group)
            }
            routeEvents = events
            routeRequests = try NetlinkSocket(.route)
            if plan.mode != .none || !plan.announcements.isEmpty {
                let requests = try NetlinkSocket(.generic)
                let family = try requests.resolveFamily("mptcp_pm")
                pmRequests = requests
                pmFamily = family
                if plan.mode == .relay {
                    guard let group = family.multicastGroups["mptcp_pm_events"] else {
                        throw NetlinkError(operation: "mptcp_pm", errno: ENOENT, message: "no mptcp_pm_events group")
                    }
                    let pmEvents = try NetlinkSocket(.generic)
                    try pmEvents.joinGroup(group)
                    self.pmEvents = pmEvents
                }
            }
            try resynchronizeLinks()
        } catch {
            throw PathManagerError(
                error.description,
                errno: 0,
                hint: error.errno == EPERM ? "the path manager needs CAP_NET_ADMIN" : ""
            )
        }
        if plan.mode == .relay {
            try takeOverPathManagement()
            readPeerJoinLimit()
        }
        refreshPaths(initial: true)
        announceAddresses()
    }

    /// Runs until `stop()`: rtnetlink and mptcp_pm events in, subflow commands out.
    public func run() {
        var descriptors = [pollfd(fd: stopPipe[0], events: Int16(POLLIN), revents: 0)]
        if let routeEvents {
            descriptors.append(pollfd(fd: routeEvents.fileDescriptor, events: Int16(POLLIN), revents: 0))
        }
        if let pmEvents {
            descriptors.append(pollfd(fd: pmEvents.fileDescriptor, events: Int16(POLLIN), revents: 0))
        }
        var nextJoins: Int64? = nil
        while true {
            for index in descriptors.indices { descriptors[index].revents = 0 }
            let timeout = min(Self.replanIntervalMilliseconds, nextJoins ?? Self.replanIntervalMilliseconds)
            let ready = poll(&descriptors, nfds_t(descriptors.count), Int32(timeout))
            if ready < 0 && errno != EINTR {
                logger.error("poll failed", metadata: ["error": "\(String(cString: strerror(errno)))"])
                return
            }
            if descriptors[0].revents != 0 { return }
            followPolicyTable()
            readRouteEvents()
            readPathManagerEvents()
            nextJoins = replanJoinsDue()
            let now = Self.monotonicMilliseconds()
            let exhausted = board.exhaustedPaths
            let degraded = board.degradedPaths
            let unreachable = board.unreachablePaths
            if exhausted != lastExhausted || degraded != lastDegraded || unreachable != lastUnreachable {
                lastExhausted = exhausted
                lastDegraded = degraded
                lastUnreachable = unreachable
                if plan.mode == .kernel { synchronizeEndpoints() }
                replanAll()
            } else if now - lastReplan >= Self.replanIntervalMilliseconds {
                replanAll()
            }
            forgetVanished()
            publishSubflows()
        }
    }

    /// Takes in the policies a reload added to the board (one atomic load when none did). Runs at the
    /// start of every loop turn, and again for a connection registered under a policy added during the
    /// turn (`apply(.created)`), so the planner never meets an index it does not know.
    func followPolicyTable() {
        guard board.policyCount != plan.policies.count else { return }
        plan = board.currentPlan
        planner = SubflowPlanner(plan: plan)
    }

    /// The backup flag of each subflow this path manager placed, by local endpoint (any thread).
    public func backupFlags() -> [Endpoint: Bool] {
        publishedBackups.withLock { $0 }
    }

    /// Publishes the subflows' backup flags for ``backupFlags()``.
    private func publishSubflows() {
        var flags: [Endpoint: Bool] = [:]
        for connection in connections.values {
            for subflow in connection.subflows { flags[subflow.local] = subflow.backup }
        }
        publishedBackups.withLock { $0 = flags }
        board.setTrackedConnectionCount(connections.count + peerOpened.count)
    }

    /// Ends `run()` (from any thread).
    public func stop() {
        var byte: UInt8 = 1
        _ = write(stopPipe[1], &byte, 1)
    }

    /// Gives back what `start()` took: the namespace's path manager setting, the endpoints added in
    /// `kernel` mode and the announced addresses. Call after `run()` has returned.
    public func restore() {
        removeEndpoints()
        withdrawAnnouncements()
        if let previous = previousSysctl {
            do {
                try previous.apply()
                logger.info(
                    "restored the namespace's MPTCP path manager",
                    metadata: ["sysctl": "net.mptcp.\(previous.file)", "value": "\(previous.value)"]
                )
                stateFile?.remove()
            } catch {
                logger.error("could not restore the MPTCP path manager setting", metadata: ["error": "\(error)"])
            }
            previousSysctl = nil
        }
    }

    /// Makes the namespace's new MPTCP connections use a userspace path manager (this service).
    private func takeOverPathManagement() throws(PathManagerError) {
        guard let current = PathManagerSysctl.current(), let userspace = PathManagerSysctl.userspace() else {
            throw PathManagerError(
                "read /proc/sys/net/mptcp/path_manager",
                errno: ENOENT,
                hint: "this kernel has no MPTCP userspace path manager (Linux 5.19 or later needed)"
            )
        }
        let stateFile = PathManagerStateFile.forCurrentNamespace()
        guard !current.isUserspace else {
            if let saved = stateFile?.load() {
                // A relay before us switched it and could not switch it back (killed): do it at our stop.
                previousSysctl = saved
                self.stateFile = stateFile
                logger.notice(
                    "the namespace already uses the userspace MPTCP path manager, left by a relay that did not stop cleanly; restoring the saved setting at stop",
                    metadata: ["sysctl": "net.mptcp.\(saved.file)", "value": "\(saved.value)"]
                )
            } else {
                logger.notice("the namespace already uses the userspace MPTCP path manager; leaving it so at stop")
            }
            return
        }
        if let stateFile, !stateFile.save(current) {
            logger.warning(
                "could not save the MPTCP path manager setting; a relay killed before its stop would leave the namespace on userspace",
                metadata: ["file": "\(stateFile.path)"]
            )
        }
        self.stateFile = stateFile
        do {
            try userspace.apply()
        } catch {
            throw PathManagerError(
                error.operation,
                errno: error.errno,
                hint: "the relay path manager needs CAP_NET_ADMIN in its network namespace"
            )
        }
        previousSysctl = current
        logger.info(
            "the relay is the namespace's MPTCP path manager",
            metadata: ["sysctl": "net.mptcp.\(current.file)", "was": "\(current.value)", "now": "\(userspace.value)"]
        )
    }

    static func monotonicMilliseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
    }
}

/// An in-kernel endpoint the service added: the path and the address family.
struct EndpointKey: Hashable {
    var path: Int
    var ipv6: Bool
}

/// A join the peer opened on a connection it opened, by its two ends.
struct PeerJoin: Hashable {
    var local: Endpoint
    var remote: Endpoint
}

import ConvertProtocol
import Logging
import Netlink

#if canImport(Glibc)
import Glibc
#endif

/// The kernel's MPTCP events, and the subflow actions they lead to (`relay` mode).
extension PathManagerService {
    /// Applies the queued mptcp_pm events, re-planning the connections they touched.
    func readPathManagerEvents() {
        guard let events = pmEvents, let family = pmFamily else { return }
        let messages: [NetlinkMessage]
        do {
            messages = try events.receive(timeoutMilliseconds: 0)
        } catch {
            // Lost events cannot be read again; the connections we know stay managed, new ones may be missed.
            // CLOSED events may be among the lost ones: our own connections are swept once their socket is
            // closed, and the peers' are checked with the kernel at the next sweep instead of in 30 s.
            logger.warning("mptcp_pm events were lost", metadata: ["error": "\(error)"])
            for token in peerConfirmedAt.keys { peerConfirmedAt[token] = 0 }
            return
        }
        var touched: Set<UInt32> = []
        for message in messages {
            guard let event = try? MPTCPEvent.decode(message, familyID: family.id) else { continue }
            if apply(event) { touched.insert(event.token) }
        }
        for token in touched { replan(token) }
    }

    /// Updates the connection table from one event; returns whether the connection should be re-planned.
    func apply(_ event: MPTCPEvent) -> Bool {
        switch event.kind {
        case .created:
            if event.serverSide == true {
                peerOpened[event.token] = []
                peerConfirmedAt[event.token] = Self.monotonicMilliseconds()
                return false
            }
            guard let local = event.localEndpoint, let remote = event.remoteEndpoint,
                let path = board.path(of: local.address)
            else { return false }
            let key = ConnectionKey(path: path, ipv6: !local.address.isIPv4, port: local.port)
            guard let policy = board.policy(of: key) else { return false }
            // A reload may have added this policy after this loop turn began (a worker registers only
            // indices the board has published, so taking the table in now always covers it).
            if policy >= plan.policies.count { followPolicyTable() }
            var connection = ManagedConnection(
                token: event.token,
                key: key,
                policy: policy,
                remote: remote,
                initial: ManagedSubflow(path: path, local: local, remote: remote, backup: false, localID: 0)
            )
            connection.joinsToInitialDenied = event.deniesJoinToInitialAddress
            connections[event.token] = connection
            if let previous = tokenByKey.updateValue(event.token, forKey: key), previous != event.token,
                connections[previous] != nil
            {
                // Its key belongs to a new connection now: the old one is probably gone without a CLOSED event.
                probe(previous)
            }
            return false
        case .established:
            guard var connection = connections[event.token] else { return false }
            connection.establishedAt = Self.monotonicMilliseconds()
            if event.deniesJoinToInitialAddress { connection.joinsToInitialDenied = true }
            connections[event.token] = connection
            if let due = planner.joinsDue(connection) {
                // Policies may wait differently long (join_after): keep the queue in due order.
                var position = joinsWaiting.count
                while position > 0 && joinsWaiting[position - 1].due > due { position -= 1 }
                joinsWaiting.insert((token: event.token, due: due), at: position)
            }
            return true
        case .subflowEstablished:
            if peerOpened[event.token] != nil, let local = event.localEndpoint, let remote = event.remoteEndpoint {
                admitPeerJoin(of: event.token, PeerJoin(local: local, remote: remote))
                return false
            }
            guard var connection = connections[event.token], let local = event.localEndpoint,
                let remote = event.remoteEndpoint
            else { return false }
            // Only the subflows this path manager asked for: the kernel lets a userspace path manager's
            // connections accept every MP_JOIN the peer sends, to any of our addresses and beyond any limit.
            guard let path = board.path(of: local.address) else {
                refuseSubflow(of: event.token, local: local, remote: remote)
                return false
            }
            let networks = plan.policies[connection.policy].joinAnnounced
            if let lane = connection.creatingExtra.first(where: {
                $0.path == path && connection.announced[$0.target] == remote
            }) {
                connection.creatingExtra.remove(lane)
            } else if connection.creating & (1 << UInt64(path)) != 0,
                connection.joinTarget(within: networks)?.endpoint == remote || remote == connection.remote
            {
                connection.creating &= ~(1 << UInt64(path))
            } else {
                refuseSubflow(of: event.token, local: local, remote: remote)
                return false
            }
            if !connection.subflows.contains(where: { $0.local == local && $0.remote == remote }) {
                connection.subflows.append(
                    ManagedSubflow(
                        path: path,
                        local: local,
                        remote: remote,
                        backup: event.backup ?? false,
                        localID: event.localID
                    )
                )
            }
            connections[event.token] = connection
            return true
        case .subflowClosed:
            if let local = event.localEndpoint, let remote = event.remoteEndpoint {
                peerOpened[event.token]?.removeAll { $0 == PeerJoin(local: local, remote: remote) }
            }
            guard var connection = connections[event.token], let local = event.localEndpoint,
                let path = board.path(of: local.address)
            else { return false }
            let known = connection.subflows.contains { $0.local == local }
            connection.subflows.removeAll { $0.local == local }
            // An unknown subflow that closes on a path with a creation in flight is that creation failing
            // (towards an announced address: the lane whose address it names); a known one closing leaves a
            // creation in flight on its path alone.
            var wasCreating = false
            var failedLane: JoinLane?
            let remote = event.remoteEndpoint
            let networks = plan.policies[connection.policy].joinAnnounced
            if !known {
                if let lane = connection.creatingExtra.first(where: {
                    $0.path == path && connection.announced[$0.target] == remote
                }) {
                    connection.creatingExtra.remove(lane)
                    failedLane = lane
                } else if connection.joinTarget(within: networks)?.endpoint == remote || remote == connection.remote {
                    // A late event of a join to an address since withdrawn matches neither and changes nothing.
                    wasCreating = connection.creating & (1 << UInt64(path)) != 0
                    connection.creating &= ~(1 << UInt64(path))
                }
            } else if let remote,
                let extra = connection.extraTargets(within: networks).first(where: {
                    $0.endpoint == remote
                })
            {
                failedLane = JoinLane(path: path, target: extra.id)
            }
            connections[event.token] = connection
            let retry = Self.monotonicMilliseconds() + Self.holdOffMilliseconds
            if let failedLane, board.isUp(path) {
                // A subflow to an announced address that failed or was reset: that lane alone waits.
                laneHoldOff[event.token, default: [:]][failedLane] = retry
            } else if (wasCreating || known) && board.isUp(path) {
                // A subflow that failed or was reset on an up path: try that path again a little later.
                holdOff[event.token, default: [:]][path] = retry
            }
            return true
        case .subflowPriority:
            guard var connection = connections[event.token], let local = event.localEndpoint,
                let index = connection.subflows.firstIndex(where: { $0.local == local }), let backup = event.backup
            else { return false }
            connection.subflows[index].backup = backup
            connections[event.token] = connection
            return false
        case .announced:
            // ADD_ADDR from the converter: where joins go when it forbids its initial address (joinTarget), and
            // where the policy's `join_announced` networks send subflows of their own (extraTargets).
            guard var connection = connections[event.token], let id = event.remoteID, let address = event.remoteAddress
            else { return false }
            // An ADD_ADDR without a port means the initial subflow's port (RFC 8684 section 3.4.1).
            let port = event.remotePort.flatMap { $0 == 0 ? nil : $0 } ?? connection.remote.port
            let announced = Endpoint(address: address, port: port)
            connection.announced[id] = announced
            connections[event.token] = connection
            if !connection.acceptsJoin(to: announced) {
                logger.info(
                    "ignoring an announced address no join may go to",
                    metadata: ["token": "\(event.token)", "address": "\(announced)"]
                )
            }
            return connection.joinsToInitialDenied || !plan.policies[connection.policy].joinAnnounced.isEmpty
        case .removed:
            // REMOVE_ADDR: the address is gone; so are the joins this path manager opened to it (destroyed
            // here, whatever the kernel did), and the re-plan opens them to another announced address, if any.
            guard var connection = connections[event.token], let id = event.remoteID,
                let withdrawn = connection.announced.removeValue(forKey: id)
            else { return false }
            for subflow in connection.subflows where subflow.remote == withdrawn {
                destroySubflow(of: event.token, local: subflow.local, remote: subflow.remote)
            }
            connection.subflows.removeAll { $0.remote == withdrawn }
            connection.creatingExtra = connection.creatingExtra.filter { $0.target != id }
            connections[event.token] = connection
            return true
        case .closed:
            forget(event.token)
            return false
        default:
            return false
        }
    }

    /// Re-plans the connections whose join delay has ended; returns the milliseconds until the next one's
    /// ends (`nil`: none waits). The queue is kept in due order as connections are established.
    func replanJoinsDue() -> Int64? {
        let now = Self.monotonicMilliseconds()
        var ended = 0
        while ended < joinsWaiting.count, joinsWaiting[ended].due <= now {
            ended += 1
        }
        let tokens = joinsWaiting.prefix(ended).map(\.token)
        joinsWaiting.removeFirst(ended)
        for token in tokens { replan(token) }
        return joinsWaiting.first.map { max(0, $0.due - now) }
    }

    /// Re-plans every connection (after a path changed, and periodically for hold-offs that ended).
    func replanAll() {
        lastReplan = Self.monotonicMilliseconds()
        sweepStaleConnections(now: lastReplan)
        for token in Array(connections.keys) { replan(token) }
    }

    /// Brings one connection's subflows to what its policy wants now.
    func replan(_ token: UInt32) {
        guard plan.mode == .relay, let connection = connections[token], !closing.contains(token) else { return }
        let now = Self.monotonicMilliseconds()
        var held: UInt64 = 0
        if let paths = holdOff[token] {
            for (path, until) in paths where until > now { held |= 1 << UInt64(path) }
        }
        let heldLanes = Set(laneHoldOff[token]?.filter { $0.value > now }.keys.map { $0 } ?? [])
        // Paths over their quota count as down while another path of the policy is up.
        let usable = board.usablePaths(for: plan.policies[connection.policy])
        let degraded = board.degradedPaths
        for action in planner.actions(
            for: connection,
            upPaths: usable,
            holdOff: held,
            heldLanes: heldLanes,
            degraded: degraded,
            now: now
        ) {
            perform(action, on: token)
        }
    }

    /// Sends one action to the kernel and records its effect.
    func perform(_ action: SubflowAction, on token: UInt32) {
        guard var connection = connections[token] else { return }
        switch action {
        case .create(let path, let backup, let extra):
            let networks = plan.policies[connection.policy].joinAnnounced
            let chosen =
                extra == 0
                ? connection.joinTarget(within: networks)
                : connection.extraTargets(within: networks).first { $0.id == extra }
            guard let (targetID, target) = chosen, let source = board.source(of: path, for: target.address)
            else { return }
            let local = MPTCPAddress(
                address: source,
                id: UInt8(path + 1),
                flags: backup ? [.backup] : [],
                interfaceIndex: statuses[path].interfaceIndex
            )
            var remote = MPTCPAddress(target)
            if targetID != 0 { remote.id = targetID }
            do {
                try sendPathManagerRequest("mptcp_pm SUBFLOW_CREATE") { family, sequence in
                    MPTCPPathManagerRequest.subflowCreate(
                        familyID: family,
                        sequence: sequence,
                        token: token,
                        local: local,
                        remote: remote
                    )
                }
                if extra == 0 {
                    connection.creating |= 1 << UInt64(path)
                } else {
                    connection.creatingExtra.insert(JoinLane(path: path, target: extra))
                }
                if extra == 0 && !plan.policies[connection.policy].paths.contains(path) && !backup {
                    board.countPromotion(of: path)
                }
            } catch {
                if extra == 0 {
                    holdOff(path, of: token, "subflow not created", error)
                } else {
                    noteRefusal(of: token, error)
                    laneHoldOff[token, default: [:]][JoinLane(path: path, target: extra)] =
                        Self.monotonicMilliseconds() + Self.holdOffMilliseconds
                    logger.debug(
                        "subflow to an announced address not created",
                        metadata: ["path": "\(plan.paths[path].name)", "token": "\(token)", "error": "\(error)"]
                    )
                }
            }
        case .destroy(let subflow):
            if !board.isUp(subflow.path), let localID = subflow.localID {
                withdrawAddress(localID, of: token, path: subflow.path)
            }
            destroySubflow(of: token, local: subflow.local, remote: subflow.remote)
            connection.subflows.removeAll { $0.local == subflow.local && $0.remote == subflow.remote }
        case .setBackup(let subflow, let backup):
            do {
                try sendPathManagerRequest("mptcp_pm SET_FLAGS") { family, sequence in
                    MPTCPPathManagerRequest.setFlags(
                        familyID: family,
                        sequence: sequence,
                        token: token,
                        local: MPTCPAddress(subflow.local),
                        remote: MPTCPAddress(subflow.remote),
                        backup: backup
                    )
                }
                if let index = connection.subflows.firstIndex(of: subflow) {
                    connection.subflows[index].backup = backup
                }
                if !backup { board.countPromotion(of: subflow.path) }
            } catch {
                holdOff(subflow.path, of: token, "subflow flags not changed", error)
            }
        case .close:
            // Never on the word of a stale entry: its key may belong to a new connection by now.
            probe(token)
            if vanished.contains(token) { return }
            closing.insert(token)
            board.requestClose(connection.key)
            logger.warning(
                "closing a connection: every path its policy allows is down",
                metadata: ["policy": "\(plan.policies[connection.policy].name)", "token": "\(token)"]
            )
            return
        }
        connections[token] = connection
    }

    /// Destroys a subflow of connection `token` that this path manager did not open (a join from the peer)
    /// and counts it: subflows go only where the connection's policy sends them.
    /// A join the peer opened on a connection it opened: kept up to ``peerJoinLimit`` live joins, destroyed
    /// and counted beyond (issue 12: wherever the relay is the path manager it enforces a subflow cap itself,
    /// because the kernel accepts every MP_JOIN for a userspace path manager).
    func admitPeerJoin(of token: UInt32, _ join: PeerJoin) {
        guard var joins = peerOpened[token], !joins.contains(join) else { return }
        guard joins.count < peerJoinLimit else {
            logger.info(
                "destroying a join beyond the subflow limit on a connection the peer opened",
                metadata: [
                    "token": "\(token)", "local": "\(join.local)", "remote": "\(join.remote)",
                    "limit": "\(peerJoinLimit)",
                ]
            )
            refuseSubflow(of: token, local: join.local, remote: join.remote)
            return
        }
        joins.append(join)
        peerOpened[token] = joins
    }

    func refuseSubflow(of token: UInt32, local: Endpoint, remote: Endpoint) {
        board.countRefusedSubflow()
        logger.debug(
            "destroying a subflow the path manager did not open",
            metadata: ["token": "\(token)", "local": "\(local)", "remote": "\(remote)"]
        )
        destroySubflow(of: token, local: local, remote: remote)
    }

    /// Tells the peer that the local address `localID` of connection `token` is gone (REMOVE_ADDR, through
    /// `MPTCP_PM_CMD_REMOVE`) before its subflow on the dead `path` is destroyed: a destroyed subflow whose
    /// link is down cannot carry its FIN or RST, so without this the peer goes on sending on it until its
    /// own retransmission timeout, which stalls the download (issue 14: 0.05 s standby, 0.24 s on demand,
    /// against the kernel path manager's 0.02 s). Each path's joins have their own non-zero id (path + 1);
    /// the initial subflow's is 0, which the kernel withdraws too. A refusal is only logged.
    func withdrawAddress(_ localID: UInt8, of token: UInt32, path: Int) {
        do {
            try sendPathManagerRequest("mptcp_pm REMOVE") { family, sequence in
                MPTCPPathManagerRequest.remove(familyID: family, sequence: sequence, token: token, localID: localID)
            }
        } catch {
            noteRefusal(of: token, error)
            logger.debug(
                "address not withdrawn",
                metadata: [
                    "token": "\(token)", "path": "\(plan.paths[path].name)", "id": "\(localID)", "error": "\(error)",
                ]
            )
        }
    }

    /// Asks the kernel to close the subflow `local` → `remote` of connection `token`; a refusal (it is
    /// already gone) is only logged.
    func destroySubflow(of token: UInt32, local: Endpoint, remote: Endpoint) {
        do {
            try sendPathManagerRequest("mptcp_pm SUBFLOW_DESTROY") { family, sequence in
                MPTCPPathManagerRequest.subflowDestroy(
                    familyID: family,
                    sequence: sequence,
                    token: token,
                    local: MPTCPAddress(local),
                    remote: MPTCPAddress(remote)
                )
            }
        } catch {
            noteRefusal(of: token, error)
            logger.debug("subflow not destroyed", metadata: ["token": "\(token)", "error": "\(error)"])
        }
    }

    /// Leaves `path` alone for connection `token` for a while after the kernel refused a change there.
    private func holdOff(_ path: Int, of token: UInt32, _ what: String, _ error: NetlinkError) {
        noteRefusal(of: token, error)
        holdOff[token, default: [:]][path] = Self.monotonicMilliseconds() + Self.holdOffMilliseconds
        logger.debug(
            "\(what)",
            metadata: ["path": "\(plan.paths[path].name)", "token": "\(token)", "error": "\(error)"]
        )
    }

    /// Sends one mptcp_pm request, built for the family id and the next sequence number, and waits for the
    /// kernel's answer; throws its refusal.
    @discardableResult
    func sendPathManagerRequest(
        _ operation: String,
        _ build: (_ family: UInt16, _ sequence: UInt32) -> [UInt8]
    ) throws(NetlinkError) -> [NetlinkMessage] {
        guard let requests = pmRequests, let family = pmFamily else {
            throw NetlinkError(operation: operation, errno: ENOTCONN, message: "no mptcp_pm socket")
        }
        return try requests.request(build(family.id, requests.nextSequence()), operation: operation)
    }
}

extension MPTCPAddress {
    /// An address and port, for the subflow commands.
    init(_ endpoint: Endpoint) {
        self.init(address: endpoint.address, port: endpoint.port)
    }
}

extension MPTCPEvent {
    /// Whether the peer forbade joins to its initial address and port (`MPTCP_PM_EV_FLAG_DENY_JOIN_ID0`).
    var deniesJoinToInitialAddress: Bool { (flags ?? 0) & 1 != 0 }

    /// The local address and port, when the event carries both.
    var localEndpoint: Endpoint? {
        guard let address = localAddress, let port = localPort else { return nil }
        return Endpoint(address: address, port: port)
    }

    /// The remote address and port, when the event carries both.
    var remoteEndpoint: Endpoint? {
        guard let address = remoteAddress, let port = remotePort else { return nil }
        return Endpoint(address: address, port: port)
    }
}

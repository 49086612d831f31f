internal import CLiburing
import ConvertProtocol
import Logging
import PathManager

#if canImport(Glibc)
import Glibc
#endif

extension Worker {
    /// Queues a multishot accept on a listener: one submission, one completion per accepted connection.
    func armAccept(_ listenerIndex: Int) {
        guard listeners[listenerIndex].open, !listeners[listenerIndex].acceptArmed else { return }
        listeners[listenerIndex].acceptArmed = true
        events.acceptMultishot(
            listeners[listenerIndex].fd,
            userData: OperationTag(kind: .accept, slot: UInt32(listenerIndex)).raw
        )
    }

    func accepted(listenerIndex: Int, result: Int32, more: Bool) {
        if !more {
            listeners[listenerIndex].acceptArmed = false
        }
        if result < 0 && result != -ECANCELED && result != -EAGAIN {
            acceptFailed(listenerIndex, errno: -result)
        }
        // Re-armed after the failure is known: out of descriptors, accept pauses and the tick re-arms it.
        if !more && listeners[listenerIndex].open && !stopping && listeners[listenerIndex].acceptPausedUntil == 0 {
            armAccept(listenerIndex)
        }
        guard result >= 0 else { return }
        if stopping {
            close(result)
            return
        }
        startConnection(fd: result, listenerIndex: listenerIndex)
    }

    /// Takes a slot for a new accepted socket and starts its role's first step.
    private func startConnection(fd: Int32, listenerIndex: Int) {
        count(RelayStatistics.Slot.accepted, listener: listenerIndex)
        let answersRequests: Bool
        switch listeners[listenerIndex].spec.role {
        case .convert(_, nil): answersRequests = true
        case .convert: answersRequests = false
        case .forward, .transparent:
            answersRequests = false
            if refusedDuringHoldOff(fd: fd, listenerIndex: listenerIndex) { return }
        }
        if answersRequests && pendingHeaders >= settings.maxPendingHeadersPerWorker {
            count(RelayStatistics.Slot.refusedPendingHeaders, listener: listenerIndex)
            refuseAtAccept(fd, listenerIndex: listenerIndex, answer: answersRequests)
            if let count = listeners[listenerIndex].clientLimitLog.admit(now: now) {
                logger.warning(
                    "connections refused: too many still waiting for their Convert header (slow or hostile clients?)",
                    metadata: [
                        "listener": "\(listeners[listenerIndex].spec.name)",
                        "max_pending_headers_per_worker": "\(settings.maxPendingHeadersPerWorker)",
                        "refused": "\(count)",
                    ]
                )
            }
            return
        }
        guard let free = freeSlots.popLast() else {
            count(RelayStatistics.Slot.refusedFull, listener: listenerIndex)
            refuseAtAccept(fd, listenerIndex: listenerIndex, answer: answersRequests)
            // A flood of refusals is one line per interval, with how many it stands for.
            guard let refused = listeners[listenerIndex].tableFullLog.admit(now: now) else { return }
            logger.warning(
                "connections refused: worker table full",
                metadata: [
                    "listener": "\(listeners[listenerIndex].spec.name)",
                    "max_connections": "\(settings.maxConnectionsPerWorker)", "refused": "\(refused)",
                ]
            )
            return
        }
        let slotIndex = Int(free)
        highWater = max(highWater, slotIndex + 1)
        active += 1
        let generation = slots[slotIndex].generation
        slots[slotIndex] = ConnectionSlot()
        slots[slotIndex].generation = generation
        slots[slotIndex].phase = .starting
        slots[slotIndex].listener = listenerIndex
        slots[slotIndex].downstream = fd
        slots[slotIndex].startedAt = now
        slots[slotIndex].lastActivity = now
        slots[slotIndex].peer = SocketAddress.peer(of: fd)?.endpoint
        slots[slotIndex].toUpstream.byteCounter = statistics.cell(
            worker: index,
            listener: listeners[listenerIndex].statisticsIndex,
            RelayStatistics.Slot.bytesToUpstream
        )
        slots[slotIndex].toDownstream.byteCounter = statistics.cell(
            worker: index,
            listener: listeners[listenerIndex].statisticsIndex,
            RelayStatistics.Slot.bytesToDownstream
        )
        SocketCalls.setNoDelay(fd)
        SocketCalls.setKeepalive(fd, settings.keepalive)
        // Until the connection ends well, a close resets: should this process die (kill -9, a crash), the
        // kernel's close of its sockets must not look like a clean end to either peer (finishClose clears it).
        SocketCalls.setLingerZero(fd)

        let spec = listeners[listenerIndex].spec
        switch spec.role {
        case .forward(_, let destination):
            slots[slotIndex].destination = destination
            dial(slotIndex, to: listeners[listenerIndex].upstreamAddress!, mptcp: true, mark: spec.upstreamMark)
        case .transparent:
            // TPROXY keeps the destination the client dialed as the accepted socket's local address.
            let destination = SocketAddress.local(of: fd)?.endpoint
            slots[slotIndex].destination = destination
            guard let destination, !wouldLoop(destination) else {
                return fail(slotIndex, .loopRefused)
            }
            dial(slotIndex, to: listeners[listenerIndex].upstreamAddress!, mptcp: true, mark: spec.upstreamMark)
        case .convert(_, let backend):
            let multipath = CLiburing_mptcp_is_active(fd) == 1
            slots[slotIndex].multipath = multipath
            if !multipath {
                count(RelayStatistics.Slot.fallbacks, listener: listenerIndex)
            }
            if let backend, let address = listeners[listenerIndex].backendAddress {
                slots[slotIndex].destination = backend
                dial(slotIndex, to: address, mptcp: false)
            } else {
                slots[slotIndex].phase = .awaitingRequest
                slots[slotIndex].pendingHeader = true
                pendingHeaders += 1
                // Not TCP_DEFER_ACCEPT with a read at once: on an MPTCP listener it holds back MP_JOINs too
                // (docs/DATA-PATH.md).
                armPoll(slotIndex, .pollDownstreamIn)
            }
        }
    }

    /// Refuses a connection before it has a slot. A convert listener first answers Resource Exceeded with the
    /// retry delay (RFC 8803: a converter short of resources MUST say so) and closes the way an answer
    /// closes; others reset.
    private func refuseAtAccept(_ fd: Int32, listenerIndex: Int, answer: Bool) {
        if answer && sendErrorAnswer(fd, listenerIndex: listenerIndex, answer: .resourceExceeded) {
            shutdown(fd, Int32(SHUT_WR))
        } else {
            SocketCalls.setLingerZero(fd)
        }
        close(fd)
    }

    /// Whether a transparent connection's original destination is this host itself (one of its
    /// addresses, loopback, or unspecified): relaying it would bring it straight back.
    func wouldLoop(_ destination: Endpoint) -> Bool {
        let address = destination.address
        return address.isLoopback || address.isUnspecified || localAddresses.contains(address)
    }

    /// Opens the upstream socket (with SO_MARK when given) and queues its connect; phase becomes
    /// `connecting`.
    func dial(_ slotIndex: Int, to address: UnsafePointer<SocketAddress>, mptcp: Bool, mark: UInt32? = nil) {
        let fd: Int32
        do {
            fd = try SocketCalls.makeStreamSocket(family: address.pointee.family, mptcp: mptcp)
        } catch {
            if slots[slotIndex].phase == .awaitingRequest {
                // A converter out of descriptors or memory says so (RFC 8803: Resource Exceeded, MUST); any
                // other failure (no IPv6 here) concerns this destination only.
                let short = [EMFILE, ENFILE, ENOBUFS, ENOMEM].contains(error.errno)
                return refuse(
                    slotIndex,
                    answer: short ? .resourceExceeded : .destinationUnreachable,
                    result: .resourceExhausted(errno: error.errno)
                )
            }
            return fail(slotIndex, .resourceExhausted(errno: error.errno))
        }
        slots[slotIndex].upstream = fd
        if mptcp, let board = pathBoard {
            guard placeOnPath(slotIndex, fd: fd, board: board) else { return }
        }
        if let mark {
            do {
                try SocketCalls.setOption(fd, SOL_SOCKET, SO_MARK, Int32(bitPattern: mark), name: "SO_MARK")
            } catch {
                return fail(slotIndex, .connectFailed(errno: error.errno))
            }
        }
        SocketCalls.setNoDelay(fd)
        SocketCalls.setKeepalive(fd, settings.keepalive)
        SocketCalls.setLingerZero(fd)  // as for the accepted socket: a dying process resets, never FINs
        if !mptcp {
            // The converter's connect to the destination: an ICMP error that ends it is queued, so that
            // Destination Unreachable can echo its code (RFC 8803 section 6.2.8); off again once connected.
            _ = CLiburing_set_icmp_errors(fd, address.pointee.family == AF_INET6 ? 1 : 0, 1)
        }
        if mptcp && settings.fastOpen {
            // connect() then returns at once; the first sendmsg sends the SYN, with the request in it
            // when a cookie from this converter is known.
            try? SocketCalls.setOption(fd, Int32(IPPROTO_TCP), TCP_FASTOPEN_CONNECT, 1, name: "TCP_FASTOPEN_CONNECT")
        }
        slots[slotIndex].phase = .connecting
        slots[slotIndex].dialedAt = Worker.preciseNow()
        armConnect(slotIndex, to: address)
    }

    /// Binds a new MPTCP upstream socket to the source of the path its subflow policy starts on, sets the
    /// policy's congestion control, and registers it on the board (relay path manager). Returns false after
    /// failing the connection when no allowed path is up.
    private func placeOnPath(_ slotIndex: Int, fd: Int32, board: PathBoard) -> Bool {
        guard let destination = slots[slotIndex].destination,
            let upstream = listeners[slots[slotIndex].listener].spec.role.upstream
        else { return true }
        let policyIndex = board.policyIndex(for: destination, order: policyOrder)
        slots[slotIndex].policy = UInt8(policyIndex)
        guard
            let (path, source) = board.initialPath(
                policy: policyIndex,
                upstream: upstream.address,
                excluding: slots[slotIndex].triedPaths
            )
        else {
            fail(slotIndex, .noPath)
            return false
        }
        slots[slotIndex].triedPaths |= 1 << UInt64(path)
        let port: UInt16
        do {
            port = try SocketCalls.bindSource(fd, SocketAddress(Endpoint(address: source, port: 0)))
        } catch {
            fail(slotIndex, .connectFailed(errno: error.errno))
            return false
        }
        if board.plan.mode == .relay {
            let key = ConnectionKey(path: path, ipv6: !source.isIPv4, port: port)
            board.register(key, policy: policyIndex)
            slots[slotIndex].pathKey = key
        }
        if let congestion = board.policy(policyIndex).congestion {
            // A name the kernel does not know leaves the connection on the system default.
            try? SocketCalls.setCongestionControl(fd, congestion)
        }
        return true
    }

    /// Stops accepting and lets live connections finish within the drain timeout (``expireTimeouts()``
    /// resets what is left then); the loop exits when the table is empty.
    func beginStop() {
        guard !stopping else { return }
        stopping = true
        drainDeadline = now &+ Worker.nanoseconds(settings.drainTimeout)
        for listenerIndex in listeners.indices where listeners[listenerIndex].open {
            if listeners[listenerIndex].acceptArmed { cancelAccept(listenerIndex) }
            close(listeners[listenerIndex].fd)
            listeners[listenerIndex].open = false
        }
        if active > 0 && settings.drainTimeout > .zero {
            logger.info(
                "draining: listeners closed, live connections may finish",
                metadata: [
                    "worker": "\(index)", "connections": "\(active)", "drain_timeout": "\(settings.drainTimeout)",
                ]
            )
        } else {
            endDrain()
        }
    }

    /// Ends the drain: every connection still open is reset (`result=shutdown`), never cut silently.
    func endDrain() {
        guard stopping else { return }
        if active > 0 {
            logger.info(
                "drain over: resetting what is left",
                metadata: ["worker": "\(index)", "connections": "\(active)"]
            )
        }
        for slotIndex in 0..<highWater where slots[slotIndex].phase != .free {
            fail(slotIndex, .shutdown)
        }
    }

    /// Closes connections past their connect, header or idle deadline. Runs on every tick.
    func expireTimeouts() {
        let connectLimit = Worker.nanoseconds(settings.connectTimeout)
        let headerLimit = Worker.nanoseconds(settings.headerTimeout)
        let idleLimit = settings.idleTimeout.map(Worker.nanoseconds) ?? UInt64.max
        if stopping && active > 0 && now > drainDeadline {
            endDrain()
        }
        for slotIndex in 0..<highWater {
            let slot = slots[slotIndex]
            if let key = slot.pathKey, slot.phase != .closing, pathBoard?.isCloseRequested(key) == true {
                fail(slotIndex, .noPath)
                continue
            }
            switch slot.phase {
            case .connecting where now &- slot.startedAt > connectLimit:
                connectTimedOut(slotIndex)
            case .sendingRequest where now &- slot.startedAt > connectLimit:
                fail(slotIndex, .connectTimeout)
            case .awaitingRequest where now &- slot.startedAt > headerLimit:
                fail(slotIndex, .headerTimeout)
            case .awaitingResponse where now &- slot.startedAt > headerLimit:
                fail(slotIndex, .headerTimeout)
            case .relaying where now &- slot.lastActivity > idleLimit:
                fail(slotIndex, .idleTimeout)
            case .relaying, .awaitingResponse:
                probeStalledReads(slotIndex)
            default:
                break
            }
        }
        resumePausedAccepts()
    }

    static func nanoseconds(_ duration: Duration) -> UInt64 {
        let (seconds, attoseconds) = duration.components
        return UInt64(max(seconds, 0)) * 1_000_000_000 + UInt64(max(attoseconds, 0) / 1_000_000_000)
    }
}

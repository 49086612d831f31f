internal import CLiburing
import ClientAuthentication
import ConvertProtocol
import Logging
import PathManager

#if canImport(Glibc)
import Glibc
#endif

extension Worker {
    /// Ends a connection on an error: both sockets are reset, so each peer sees what went wrong.
    func fail(_ slotIndex: Int, _ result: ConnectionResult) {
        beginClose(slotIndex, answeredResult(slotIndex, result), abortive: true)
    }

    /// Forward side, converter's answer still awaited: a converter that refuses closes at once, with the
    /// bytes sent behind the request unread, so its reset can fail a write (EPIPE) before the answer,
    /// already in the socket, has been read. The answer is the reason then, not the reset it caused.
    private func answeredResult(_ slotIndex: Int, _ result: ConnectionResult) -> ConnectionResult {
        guard case .upstreamReset = result, slots[slotIndex].phase == .awaitingResponse,
            case .complete(let bytes) = readHeader(slotIndex, from: slots[slotIndex].upstream),
            let response = Worker.converterAnswer(bytes), let code = response.error
        else { return result }
        holdOffConverter(slotIndex, response)
        return .converterError(code)
    }

    /// Starts closing: records the first result, cancels what is in flight, and frees the slot at once
    /// when nothing is, or when the last cancelled operation completes.
    func beginClose(_ slotIndex: Int, _ result: ConnectionResult, abortive: Bool) {
        let slot = slots + slotIndex
        guard slot.pointee.phase != .closing, slot.pointee.phase != .free else { return }
        slot.pointee.phase = .closing
        slot.pointee.result = result
        slot.pointee.abortive = abortive
        let armed = slot.pointee.armed
        for kind in Worker.slotOperations where armed.contains(ArmedOperations(kind)) {
            cancel(slotIndex, kind)
        }
        if slot.pointee.pending == 0 { finishClose(slotIndex) }
    }

    /// Closes the sockets (with a reset when abortive), returns empty pipes, logs the close line and
    /// frees the slot.
    func finishClose(_ slotIndex: Int) {
        let slot = slots + slotIndex
        releasePendingHeader(slotIndex)
        if let client = slot.pointee.client {
            listeners[slot.pointee.listener].spec.authenticator?.authenticator.release(client)
            slot.pointee.client = nil
        }
        let initialPath = slot.pointee.pathKey?.path
        if let key = slot.pointee.pathKey {
            // Before the close, so that the port is never reused while the entry still names it.
            pathBoard?.unregister(key)
            slot.pointee.pathKey = nil
        }
        if pathBoard != nil && slot.pointee.multipath != false {
            // The MPTCP side: the upstream of forward and transparent listeners, the accepted socket of
            // convert listeners (a converter with [[path]] tables counts its paths too, as the snapshot does).
            let mptcpSocket =
                listeners[slot.pointee.listener].spec.role.listensWithMPTCP
                ? slot.pointee.downstream : slot.pointee.upstream
            countClosedSubflows(of: mptcpSocket, slot: slotIndex)
        }
        closeSocket(slot.pointee.downstream, abortive: slot.pointee.abortive)
        closeSocket(slot.pointee.upstream, abortive: slot.pointee.abortive)
        for direction in Worker.directions {
            let state = Worker.directionState(slot, direction)
            guard !state.pointee.pipe.isNone else { continue }
            if state.pointee.buffered == 0 {
                pipes.release(state.pointee.pipe)
            } else {
                pipes.discard(state.pointee.pipe)
            }
            state.pointee.pipe = .none
        }
        logClose(slot.pointee, initialPath: initialPath)
        let listener = slot.pointee.listener
        count(RelayStatistics.Slot.closed(slot.pointee.result.labelIndex), listener: listener)
        switch slot.pointee.result {
        case .converterError(let code):
            count(RelayStatistics.Slot.convertErrorReceived(code.counterIndex), listener: listener)
        case .destinationRefused(let refusal):
            count(RelayStatistics.Slot.aclDenied(refusal.labelIndex), listener: listener)
        case .unauthorized(let failure):
            count(RelayStatistics.Slot.authFailures(failure.index), listener: listener)
        default:
            break
        }
        slot.pointee.phase = .free
        slot.pointee.downstream = -1
        slot.pointee.upstream = -1
        slot.pointee.generation = (slot.pointee.generation &+ 1) & 0x00FF_FFFF
        freeSlots.append(UInt32(slotIndex))
        active -= 1
    }

    /// The per-connection operations a close may have to cancel (static: no array per close).
    static let slotOperations: [OperationKind] = [
        .connect, .pollDownstreamIn, .pollDownstreamOut, .pollUpstreamIn, .pollUpstreamOut,
    ]
    /// Both directions, for loops over them.
    static let directions: [DirectionID] = [.toUpstream, .toDownstream]

    /// Closes an open socket, with a reset instead of a FIN when `abortive`. Every relayed socket has
    /// SO_LINGER {1, 0} from its start (so that a relay that dies resets its peers instead of seeming to
    /// end cleanly, docs/RELIABILITY.md finding 8): a close that ends well clears it first, so that the FIN
    /// goes out after everything still queued.
    private func closeSocket(_ fd: Int32, abortive: Bool) {
        guard fd >= 0 else { return }
        if abortive {
            SocketCalls.setLingerZero(fd)
        } else {
            SocketCalls.clearLinger(fd)
        }
        close(fd)
    }

    /// One line per connection: listener, peer, destination, bytes each way, duration, result, transport.
    /// The connection's close line; `initialPath` is the path its first subflow left on (relay as path
    /// manager), logged as `path`.
    private func logClose(_ slot: ConnectionSlot, initialPath: Int?) {
        let warns = slot.result.isError && slot.result != .shutdown
        // The metadata costs string formatting and a dictionary: build it only for a line that is printed.
        guard logger.logLevel <= (warns ? .warning : .info) else { return }
        let listener = listeners[slot.listener].spec
        var metadata: Logger.Metadata = [
            "listener": "\(listener.name)",
            "role": "\(listener.role.label)",
            "peer": "\(slot.peer.map { "\($0)" } ?? "?")",
            "destination": "\(slot.destination.map { "\($0)" } ?? "?")",
            "bytes_up": "\(slot.toUpstream.bytes)",
            "bytes_down": "\(slot.toDownstream.bytes)",
            "duration": "\(Worker.secondsText(now &- slot.startedAt))",
            "result": "\(slot.result.label)",
        ]
        if let policy = slot.policy, let board = pathBoard {
            metadata["policy"] = "\(board.policy(Int(policy)).name)"
            if let initialPath { metadata["path"] = "\(board.plan.paths[initialPath].name)" }
        }
        if let multipath = slot.multipath {
            metadata["transport"] = multipath ? "mptcp" : "tcp"
        }
        if warns {
            metadata["reason"] = "\(slot.result)"
            logger.warning("connection closed", metadata: metadata)
        } else {
            logger.info("connection closed", metadata: metadata)
        }
    }

    static func secondsText(_ nanoseconds: UInt64) -> String {
        let milliseconds = nanoseconds / 1_000_000
        let fraction = milliseconds % 1000
        let padded = fraction < 10 ? "00\(fraction)" : fraction < 100 ? "0\(fraction)" : "\(fraction)"
        return "\(milliseconds / 1000).\(padded)s"
    }

    /// Takes the slot out of the worker's count of connections waiting for their Convert header.
    func releasePendingHeader(_ slotIndex: Int) {
        guard slots[slotIndex].pendingHeader else { return }
        pendingHeaders -= 1
        slots[slotIndex].pendingHeader = false
    }
}

extension EngineRole {
    /// "forward", "transparent" or "convert", for logs.
    public var label: String {
        switch self {
        case .forward: "forward"
        case .transparent: "transparent"
        case .convert: "convert"
        }
    }
}

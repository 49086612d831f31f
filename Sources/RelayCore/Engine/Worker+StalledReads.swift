import Logging

#if canImport(Glibc)
import Glibc
#endif

extension Worker {
    /// Ticks of silence before the first probe; later probes come after 2×, 4×, 8×… as long (so an idle
    /// connection costs a few reads over its life, not four a second).
    static let stallProbeFirstTicks: UInt64 = 4

    /// Reads once, without waiting for readiness, from each side of a connection that has been silent
    /// for 1, 2, 4, 8… seconds while a read poll is armed on it; and writes once what waits in a pipe for a
    /// sink whose write poll is armed (`probeStalledWrite`).
    ///
    /// Linux's MPTCP (seen on 6.18, docs/RELIABILITY.md) can leave received bytes in a subflow's queue
    /// after subflows were destroyed and created: `recv` returns them, but `poll` never reports POLLIN,
    /// so a reader driven by readiness alone waits forever and the peer ends it with a reset. A read
    /// moves the bytes to the MPTCP socket; what it returns is relayed as usual and counted in
    /// `stalledReadsRecovered`. A read that finds nothing leaves the armed poll as it was.
    func probeStalledReads(_ slotIndex: Int) {
        let silentTicks = (now &- slots[slotIndex].lastActivity) / Worker.tickNanoseconds
        guard silentTicks >= Worker.stallProbeFirstTicks, silentTicks & (silentTicks &- 1) == 0 else { return }
        if slots[slotIndex].phase == .awaitingResponse {
            guard slots[slotIndex].armed.contains(.upstreamIn) else { return }
            let before = slots[slotIndex].headerFilled
            readResponse(slotIndex)
            if slots[slotIndex].phase != .awaitingResponse || slots[slotIndex].headerFilled != before {
                countRecoveredStall(listener: slots[slotIndex].listener)
            }
            return
        }
        // One probe per direction: a direction holding bytes waits for its sink, one holding none for its
        // source (so a read probe's fresh bytes are never taken for a write the poll missed).
        if Worker.directionState(slots + slotIndex, .toUpstream).pointee.buffered > 0 {
            probeStalledWrite(slotIndex, .toUpstream, armed: .upstreamOut)
        } else {
            probeStalledRead(slotIndex, .toUpstream, armed: .downstreamIn)
        }
        if Worker.directionState(slots + slotIndex, .toDownstream).pointee.buffered > 0 {
            probeStalledWrite(slotIndex, .toDownstream, armed: .downstreamOut)
        } else {
            probeStalledRead(slotIndex, .toDownstream, armed: .upstreamIn)
        }
    }

    /// The write side of `probeStalledReads`: a direction holding bytes in its pipe while it waits for its
    /// sink to become writable is pumped once (one nonblocking splice from the pipe first). Room that the
    /// poll never reported is a lost wakeup (docs/RELIABILITY.md finding 13, a download that stalled with the
    /// bytes on the converter's side): the bytes move, counted in `stalledWritesRecovered` and logged as a
    /// notice. A sink that is really full answers EAGAIN and the armed poll stays as it was.
    private func probeStalledWrite(_ slotIndex: Int, _ direction: DirectionID, armed bit: ArmedOperations) {
        guard slots[slotIndex].phase == .relaying, slots[slotIndex].armed.contains(bit) else { return }
        let state = Worker.directionState(slots + slotIndex, direction)
        guard !state.pointee.finished, state.pointee.buffered > 0 else { return }
        let listener = slots[slotIndex].listener
        let waiting = state.pointee.buffered
        let moved = state.pointee.bytes
        // A write may succeed while poll rightly stays silent (POLLOUT waits for a third of the buffer to be
        // free): only room that poll itself reports now, while the armed poll never fired, is a lost wakeup.
        let sink = direction == .toUpstream ? slots[slotIndex].upstream : slots[slotIndex].downstream
        let lost = SocketCalls.isWritableNow(sink)
        pump(slotIndex, direction)
        if lost && slots[slotIndex].phase == .relaying && state.pointee.bytes != moved {
            count(RelayStatistics.Slot.stalledWritesRecovered, listener: listener)
            logger.notice(
                "a write found room that readiness never reported",
                metadata: [
                    "listener": "\(listeners[listener].spec.name)",
                    "direction": "\(direction == .toUpstream ? "up" : "down")", "waiting": "\(waiting)",
                ]
            )
        }
    }

    /// One direction of `probeStalledReads`: pumps it once if it waits for its source to become readable.
    private func probeStalledRead(_ slotIndex: Int, _ direction: DirectionID, armed bit: ArmedOperations) {
        guard slots[slotIndex].phase == .relaying, slots[slotIndex].armed.contains(bit) else { return }
        let state = Worker.directionState(slots + slotIndex, direction)
        guard !state.pointee.finished, state.pointee.buffered == 0 else { return }
        let listener = slots[slotIndex].listener
        let moved = state.pointee.bytes
        pump(slotIndex, direction)
        if slots[slotIndex].phase == .free || state.pointee.bytes != moved || state.pointee.sourceEnded
            || state.pointee.buffered > 0
        {
            countRecoveredStall(listener: listener)
            return
        }
        let source = direction == .toUpstream ? slots[slotIndex].downstream : slots[slotIndex].upstream
        unblockReceive(slotIndex, direction, source: source)
    }

    /// The most an MPTCP socket's receive buffer is raised to by `unblockReceive`.
    static let receiveBufferCeiling: UInt32 = 64 << 20

    /// An MPTCP receive deadlock in Linux (seen on 6.18, docs/RELIABILITY.md finding 13): after a subflow
    /// died with data in flight, the socket holds the data that came after it (out of order, unreadable)
    /// until that data is sent again; once what it holds passes its receive buffer, it stops taking data from
    /// the subflows, where the resent data waits behind more of the same, and the window it announces
    /// closes: neither side moves again. A source silent for a second or more whose read found nothing but
    /// whose receive memory (SO_MEMINFO) holds half its buffer or more (beyond a hole, then) gets its buffer doubled
    /// (SO_RCVBUFFORCE, at least twice what it holds, at most ``receiveBufferCeiling``) and is read once
    /// more: the kernel then takes in the waiting data, opens the window, and the hole can be filled. Counted
    /// and logged with the figures, so that the soak tells whether this is the cause and the cure.
    private func unblockReceive(_ slotIndex: Int, _ direction: DirectionID, source: Int32) {
        guard slots[slotIndex].phase == .relaying, source >= 0, let memory = SocketCalls.receiveMemory(source),
            memory.held >= memory.limit / 2,
            memory.limit < Worker.receiveBufferCeiling, SocketCalls.isMPTCP(source)
        else { return }
        let raised = min(Worker.receiveBufferCeiling, max(memory.limit * 2, memory.held * 2))
        guard SocketCalls.forceReceiveBuffer(source, Int32(raised / 2)) else { return }
        let listener = slots[slotIndex].listener
        count(RelayStatistics.Slot.receiveBufferRaises, listener: listener)
        logger.notice(
            "an MPTCP receive stalled behind a hole: its receive buffer was raised",
            metadata: [
                "listener": "\(listeners[listener].spec.name)", "held": "\(memory.held)", "buffer": "\(memory.limit)",
                "raised_to": "\(raised)", "direction": "\(direction == .toUpstream ? "up" : "down")",
            ]
        )
        pump(slotIndex, direction)
    }

    private func countRecoveredStall(listener: Int) {
        count(RelayStatistics.Slot.stalledReadsRecovered, listener: listener)
        logger.debug(
            "a read found bytes that readiness never reported",
            metadata: ["listener": "\(listeners[listener].spec.name)"]
        )
    }
}

internal import CLiburing

#if canImport(Glibc)
import Glibc
#endif

extension Worker {
    /// How many splice round trips one readiness event may drive before the direction yields to others.
    static let pumpRounds = 8
    /// Reads shorter than this are taken for request/response messages (see `pump`).
    static let smallMessage = 8192

    /// Moves bytes in one direction with nonblocking splice (socket → pipe → socket), or with recv/send
    /// through the worker's buffer (the `copy` data path, and `auto` between bursts; a pipe then only
    /// holds what the sink refused), until a side would block, then arms the poll that resumes it. EOF
    /// becomes shutdown(SHUT_WR) on the sink once the pipe is drained (or a plain close once both
    /// directions ended); an error ends the connection with resets. docs/DATA-PATH.md has the measurements.
    /// `peerClosed`: the poll that woke this direction saw the source's FIN already queued behind its bytes
    /// (POLLRDHUP), so a small read is not the end of a message but the end of the stream: read on to the
    /// EOF and pass the FIN on now, right behind the last bytes, instead of one poll later. The LAN client
    /// then sees the server's close before it closes itself, as it would talking to the server directly,
    /// and the TIME_WAIT stays where the server's close put it (issue 14: a client that closes first
    /// piles up TIME_WAIT sockets towards the relay until its connect() slows to ~200 a second).
    func pump(_ slotIndex: Int, _ direction: DirectionID, peerClosed: Bool = false) {
        let slot = slots + slotIndex
        let source: Int32
        let sink: Int32
        let sourceReady: OperationKind
        let sinkReady: OperationKind
        switch direction {
        case .toUpstream:
            (source, sink) = (slot.pointee.downstream, slot.pointee.upstream)
            (sourceReady, sinkReady) = (.pollDownstreamIn, .pollUpstreamOut)
        case .toDownstream:
            (source, sink) = (slot.pointee.upstream, slot.pointee.downstream)
            (sourceReady, sinkReady) = (.pollUpstreamIn, .pollDownstreamOut)
        }
        let state = Worker.directionState(slot, direction)
        if state.pointee.finished { return }

        for _ in 0..<Worker.pumpRounds {
            if state.pointee.buffered > 0 {
                let written = CLiburing_splice_nonblock(state.pointee.pipe.readEnd, sink, state.pointee.buffered)
                if written > 0 {
                    state.pointee.buffered -= written
                    state.pointee.delivered(written)
                    slot.pointee.lastActivity = now
                    continue
                }
                if written == -Int(EAGAIN) {
                    armPoll(slotIndex, sinkReady)
                    return
                }
                return failSide(slotIndex, sinkOf: direction, errno: Int32(-written))
            }
            if !state.pointee.pipe.isNone {
                pipes.release(state.pointee.pipe)
                state.pointee.pipe = .none
            }
            if state.pointee.sourceEnded {
                state.pointee.finished = true
                if slot.pointee.toUpstream.finished && slot.pointee.toDownstream.finished {
                    // Both sockets were read to EOF: close() sends the FIN, no shutdown needed.
                    beginClose(slotIndex, .completed, abortive: false)
                } else {
                    shutdown(sink, Int32(SHUT_WR))
                }
                return
            }
            if settings.dataPath == .copy || (settings.dataPath == .auto && !state.pointee.splicing) {
                let received = SocketCalls.receive(source, into: copyBuffer, count: copyBufferSize)
                if received > 0 {
                    slot.pointee.lastActivity = now
                    // A full buffer means more is waiting: bulk, which splice moves for less CPU.
                    if received == copyBufferSize && settings.dataPath == .auto { state.pointee.splicing = true }
                    if !forward(copied: received, to: sink, state, endFollows: peerClosed) {
                        return failSide(slotIndex, sinkOf: direction, errno: lastCopyError)
                    }
                    if received < Worker.smallMessage && state.pointee.buffered == 0 && !peerClosed {
                        // A small read is a message, not a stream: the next recv would only say EAGAIN.
                        // A poll costs no syscall and completes at once if more has arrived meanwhile.
                        // (Streams keep reading: a poll per chunk would cost more than the EAGAIN.)
                        armPoll(slotIndex, sourceReady)
                        return
                    }
                    continue
                }
                if received == 0 {
                    state.pointee.sourceEnded = true
                    continue
                }
                if received == -Int(EAGAIN) {
                    armPoll(slotIndex, sourceReady)
                    return
                }
                return failSide(slotIndex, sourceOf: direction, errno: Int32(-received))
            }
            let (pipe, pipeError) = pipes.acquire()
            if pipe.isNone {
                return fail(slotIndex, .resourceExhausted(errno: pipeError))
            }
            state.pointee.pipe = pipe
            let read = CLiburing_splice_nonblock(source, pipe.writeEnd, Int(pipes.pipeSize))
            if read > 0 {
                state.pointee.buffered = read
                slot.pointee.lastActivity = now
                continue
            }
            if read == 0 {
                state.pointee.sourceEnded = true
                continue
            }
            pipes.release(pipe)
            state.pointee.pipe = .none
            if read == -Int(EAGAIN) {
                // The burst is over: the next bytes may be a small message again.
                state.pointee.splicing = false
                armPoll(slotIndex, sourceReady)
                return
            }
            return failSide(slotIndex, sourceOf: direction, errno: Int32(-read))
        }
        // Out of rounds with work left: a poll on a ready socket completes at once, after other connections.
        armPoll(slotIndex, state.pointee.buffered > 0 ? sinkReady : sourceReady)
    }

    /// The `copy` data path's second half: sends `count` bytes of the copy buffer to `sink`, and parks what
    /// the sink does not take in a pipe, which the splice step of `pump` then drains on the sink's
    /// readiness. False (with `lastCopyError`) when the sink failed or no pipe could be had. `endFollows`:
    /// the source's FIN is queued behind these bytes, so they go with MSG_MORE and leave together with the
    /// FIN that the shutdown a moment later adds, in one segment: the receiver reads the last bytes and the
    /// end of stream at once.
    private func forward(
        copied count: Int,
        to sink: Int32,
        _ state: UnsafeMutablePointer<RelayDirection>,
        endFollows: Bool
    ) -> Bool {
        let flags = Int32(MSG_DONTWAIT | MSG_NOSIGNAL) | (endFollows ? Int32(MSG_MORE) : 0)
        let sent = Glibc.send(sink, copyBuffer, count, flags)
        if sent == count {
            state.pointee.delivered(sent)
            return true
        }
        if sent < 0 && errno != EAGAIN {
            lastCopyError = errno
            return false
        }
        let delivered = max(sent, 0)
        state.pointee.delivered(delivered)
        return park(copyBuffer + delivered, count: count - delivered, in: state)
    }

    /// Writes bytes the sink refused into a pipe from the pool, which `pump` drains on the sink's
    /// readiness. The direction holds no pipe yet. False (with `lastCopyError`) when no pipe could be had.
    func park(_ bytes: UnsafeRawPointer, count: Int, in state: UnsafeMutablePointer<RelayDirection>) -> Bool {
        let (pipe, pipeError) = pipes.acquire()
        if pipe.isNone {
            lastCopyError = pipeError
            return false
        }
        // The pipe is empty and at least as large as the copy buffer: the write takes everything.
        let parked = write(pipe.writeEnd, bytes, count)
        if parked != count {
            lastCopyError = parked < 0 ? errno : EIO
            // A pipe holding part of the bytes must never go back to the pool.
            if parked > 0 { pipes.discard(pipe) } else { pipes.release(pipe) }
            return false
        }
        state.pointee.pipe = pipe
        state.pointee.buffered = count
        return true
    }

    /// The direction's state inside the slot, addressed by its stored-property offset.
    static func directionState(
        _ slot: UnsafeMutablePointer<ConnectionSlot>,
        _ direction: DirectionID
    ) -> UnsafeMutablePointer<RelayDirection> {
        let offset =
            direction == .toUpstream
            ? MemoryLayout<ConnectionSlot>.offset(of: \.toUpstream)!
            : MemoryLayout<ConnectionSlot>.offset(of: \.toDownstream)!
        return (UnsafeMutableRawPointer(slot) + offset).assumingMemoryBound(to: RelayDirection.self)
    }

    private func failSide(_ slotIndex: Int, sinkOf direction: DirectionID, errno code: Int32) {
        fail(slotIndex, direction == .toUpstream ? .upstreamReset(errno: code) : .downstreamReset(errno: code))
    }

    private func failSide(_ slotIndex: Int, sourceOf direction: DirectionID, errno code: Int32) {
        fail(slotIndex, direction == .toUpstream ? .downstreamReset(errno: code) : .upstreamReset(errno: code))
    }
}

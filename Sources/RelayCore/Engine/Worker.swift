internal import CLiburing
import ConvertProtocol
import Logging
import PathManager
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// One event-loop thread's world: its ring, its listeners, its connection table and its pipes.
/// Everything here is touched by that thread only; other threads reach it through the wake eventfd.
final class Worker {
    let index: Int
    let settings: EngineSettings
    /// Where readiness and completions come from: io_uring, or epoll where io_uring is unavailable.
    let events: any EventSource
    var pipes: PipePool
    var listeners: [WorkerListener]
    let slots: UnsafeMutablePointer<ConnectionSlot>
    /// Per-slot destination address, at a fixed address for io_uring connect.
    let connectAddresses: UnsafeMutablePointer<SocketAddress>
    /// Per-slot buffer for a Convert header (request on the converter, response on the forward side).
    let headerBuffers: UnsafeMutableRawPointer
    /// The `copy` data path's buffer: one per worker, as only one direction runs at a time.
    let copyBuffer: UnsafeMutableRawPointer
    let copyBufferSize: Int
    /// The errno of the last failed `copy` forward, for its caller's close result.
    var lastCopyError: Int32 = 0
    var freeSlots: [UInt32]
    /// One past the highest slot ever used: the timeout scan stops there.
    var highWater = 0
    var active = 0
    var now: UInt64 = 0
    let wakeFD: Int32
    var wakeBuffer: UnsafeMutablePointer<UInt64>
    let tickInterval: UnsafeMutablePointer<__kernel_timespec>
    var stopping = false
    /// While stopping: when the drain ends and what is left is reset (`now` units).
    var drainDeadline: UInt64 = 0
    /// Connections of convert listeners still waiting for their Convert header.
    var pendingHeaders = 0
    /// This host's addresses: transparent connections to them would loop.
    let localAddresses: Set<IPAddress>
    /// Paths and policies shared with the path manager; nil when paths are not managed.
    let pathBoard: PathBoard?
    /// The board's policy indices in the order new connections match them (a reload may change it).
    var policyOrder: [Int]
    /// The engine's counters; this worker writes only its own blocks.
    let statistics: RelayStatistics
    /// Stop and snapshot requests from other threads.
    let control: WorkerControl
    /// The upstream-fallback warning: at most one line per interval.
    var upstreamFallbackLog = LogThrottle(intervalNanoseconds: Worker.fallbackLogIntervalNanoseconds)
    /// Convert listeners: the Error TLVs this worker may still send this second (`max_error_answers`).
    var errorAnswers: TokenBucket
    /// The "error answers suppressed" warning: at most one line per interval.
    var errorAnswersLog = LogThrottle(intervalNanoseconds: Worker.acceptLogIntervalNanoseconds)
    /// By path: what the subflows of this worker's closed connections moved (read at each close), and of
    /// subflows that closed in mid-connection (their last reading, from ``subflowLedger``).
    var closedPathBytes: [PathByteCount]
    /// By path: the health figures (bytes sent and retransmitted) of the same closed subflows.
    var closedPathHealth: [PathHealthSample]
    /// The last figures of each live subflow, so that the per-path totals only grow.
    var subflowLedger = SubflowLedger()
    var logger: Logger

    static let headerCapacity = 1024
    static let tickNanoseconds: UInt64 = 250_000_000

    init(
        index: Int,
        settings: EngineSettings,
        listeners: [(ListenerSpec, Int32)],
        localAddresses: Set<IPAddress>,
        pathBoard: PathBoard?,
        statistics: RelayStatistics,
        control: WorkerControl,
        wakeFD: Int32,
        logger: Logger
    ) throws(SystemCallError) {
        self.index = index
        self.localAddresses = localAddresses
        self.pathBoard = pathBoard
        policyOrder = pathBoard?.initialPolicyOrder ?? []
        self.statistics = statistics
        self.control = control
        closedPathBytes = Array(repeating: PathByteCount(), count: pathBoard?.plan.paths.count ?? 0)
        closedPathHealth = Array(repeating: PathHealthSample(), count: pathBoard?.plan.paths.count ?? 0)
        self.settings = settings
        errorAnswers = TokenBucket(rate: settings.maxErrorAnswersPerSecond, now: Worker.monotonicNow())
        let capacity = settings.maxConnectionsPerWorker
        switch settings.ioBackend {
        case .epoll: events = try EpollEvents()
        case .auto, .ioUring: events = try IOUring(entries: UInt32(min(max(capacity / 4, 256), 4096)))
        }
        pipes = PipePool(pipeSize: settings.pipeSize, keepFree: 256)
        self.listeners = listeners.enumerated().map {
            WorkerListener(spec: $0.element.0, fd: $0.element.1, statisticsIndex: $0.offset)
        }
        slots = .allocate(capacity: capacity)
        slots.initialize(repeating: ConnectionSlot(), count: capacity)
        connectAddresses = .allocate(capacity: capacity)
        connectAddresses.initialize(repeating: SocketAddress(), count: capacity)
        headerBuffers = .allocate(byteCount: capacity * Worker.headerCapacity, alignment: 16)
        // Never more than an empty pipe holds, so that what the sink refuses always fits in one.
        copyBufferSize = min(65536, settings.pipeSize)
        copyBuffer = .allocate(byteCount: copyBufferSize, alignment: 64)
        freeSlots = (0..<UInt32(capacity)).reversed()
        self.wakeFD = wakeFD
        wakeBuffer = .allocate(capacity: 1)
        tickInterval = .allocate(capacity: 1)
        tickInterval.initialize(
            to: __kernel_timespec(tv_sec: 0, tv_nsec: Int64(Worker.tickNanoseconds))
        )
        var logger = logger
        logger[metadataKey: "worker"] = "\(index)"
        self.logger = logger
    }

    deinit {
        for slotIndex in 0..<highWater where slots[slotIndex].phase != .free {
            let slot = slots[slotIndex]
            closeIfOpen(slot.downstream)
            closeIfOpen(slot.upstream)
            if !slot.toUpstream.pipe.isNone { slot.toUpstream.pipe.close() }
            if !slot.toDownstream.pipe.isNone { slot.toDownstream.pipe.close() }
        }
        for listener in listeners {
            if listener.open { close(listener.fd) }
            listener.deallocate()
        }
        slots.deinitialize(count: settings.maxConnectionsPerWorker)
        slots.deallocate()
        connectAddresses.deallocate()
        headerBuffers.deallocate()
        copyBuffer.deallocate()
        wakeBuffer.deallocate()
        tickInterval.deallocate()
    }

    private func closeIfOpen(_ fd: Int32) {
        if fd >= 0 { close(fd) }
    }

    /// Runs the loop until a stop is requested and every connection is gone.
    func run() throws(SystemCallError) {
        now = Worker.monotonicNow()
        for listenerIndex in listeners.indices { armAccept(listenerIndex) }
        armWake()
        armTick()
        while !(stopping && active == 0) {
            try events.submitAndWait()
            now = Worker.monotonicNow()
            var handled = 0
            repeat {
                handled = events.drainCompletions { userData, result, flags in
                    self.complete(userData: userData, result: result, flags: flags)
                }
            } while handled == events.completionBatch
        }
        // The totals of this worker's own statistics blocks, over its listeners.
        let total = { (slot: Int) in self.statistics.total(worker: self.index, slot) }
        let closed = { (result: ConnectionResult) in total(RelayStatistics.Slot.closed(result.labelIndex)) }
        let allClosed = ConnectionResult.labels.indices.reduce(UInt64(0)) {
            $0 &+ total(RelayStatistics.Slot.closed($1))
        }
        logger.info(
            "worker stopped",
            metadata: [
                "accepted": "\(total(RelayStatistics.Slot.accepted))",
                "completed": "\(closed(.completed))",
                "failed": "\(allClosed &- closed(.completed))",
                "mptcp_fallbacks": "\(total(RelayStatistics.Slot.fallbacks))",
                "loops_refused": "\(closed(.loopRefused))",
                "no_path": "\(closed(.noPath))",
                "refused_table_full": "\(total(RelayStatistics.Slot.refusedFull))",
                "bytes_up": "\(total(RelayStatistics.Slot.bytesToUpstream))",
                "bytes_down": "\(total(RelayStatistics.Slot.bytesToDownstream))",
            ]
        )
    }

    /// Dispatches one completion by the kind packed in its user data.
    private func complete(userData: UInt64, result: Int32, flags: UInt32) {
        guard let tag = OperationTag(userData) else { return }
        switch tag.kind {
        case .accept:
            accepted(listenerIndex: Int(tag.slot), result: result, more: flags & CLiburing_IORING_CQE_F_MORE != 0)
        case .wake:
            if control.stopRequested.load(ordering: .acquiring) { beginStop() }
            if control.stopNowRequested.load(ordering: .acquiring) { endDrain() }
            if control.reloadRequested.exchange(false, ordering: .acquiringAndReleasing) {
                for reload in control.takeReloads() {
                    applyReload(reload)
                    control.reloadsApplied.add(1, ordering: .releasing)
                }
            }
            if control.snapshotRequested.exchange(false, ordering: .acquiringAndReleasing) {
                let detailed = control.detailRequested.exchange(false, ordering: .acquiringAndReleasing)
                control.deliver(snapshot(detailed: detailed))
            }
            if !(stopping && active == 0) { armWake() }
        case .tick:
            if !(stopping && active == 0) { armTick() }
            expireTimeouts()
        case .cancel:
            break
        case .connect, .pollDownstreamIn, .pollDownstreamOut, .pollUpstreamIn, .pollUpstreamOut:
            slotCompleted(tag, result: result)
        }
    }

    /// Bookkeeping common to every per-connection completion, then the event itself.
    private func slotCompleted(_ tag: OperationTag, result: Int32) {
        let slotIndex = Int(tag.slot)
        let slot = slots + slotIndex
        guard slot.pointee.phase != .free, slot.pointee.generation & 0x00FF_FFFF == tag.generation else { return }
        slot.pointee.armed.remove(ArmedOperations(tag.kind))
        if slot.pointee.phase == .closing {
            if slot.pointee.pending == 0 { finishClose(slotIndex) }
            return
        }
        switch tag.kind {
        case .connect:
            connected(slotIndex, result: result)
        case .pollDownstreamIn:
            if result < 0 { return fail(slotIndex, .downstreamReset(errno: -result)) }
            if slot.pointee.phase == .awaitingRequest {
                readRequest(slotIndex)
            } else {
                pump(slotIndex, .toUpstream, peerClosed: Worker.peerClosed(result))
            }
        case .pollUpstreamIn:
            if result < 0 { return fail(slotIndex, .upstreamReset(errno: -result)) }
            if slot.pointee.phase == .awaitingResponse {
                readResponse(slotIndex)
            } else {
                pump(slotIndex, .toDownstream, peerClosed: Worker.peerClosed(result))
            }
        case .pollDownstreamOut:
            if result < 0 { return fail(slotIndex, .downstreamReset(errno: -result)) }
            pump(slotIndex, .toDownstream)
        case .pollUpstreamOut:
            if result < 0 { return fail(slotIndex, .upstreamReset(errno: -result)) }
            if slot.pointee.phase == .sendingRequest {
                trySendingRequest(slotIndex)
            } else {
                pump(slotIndex, .toUpstream)
            }
        default:
            break
        }
    }

    /// Whether a read poll's ready mask carries the peer's FIN (POLLRDHUP).
    static func peerClosed(_ mask: Int32) -> Bool {
        UInt32(bitPattern: mask) & CLiburing_PEER_CLOSED != 0
    }

    /// Adds `amount` to counter `slot` of the listener entry `listener` (its statistics index).
    func count(_ slot: Int, listener: Int, _ amount: UInt64 = 1) {
        statistics.add(worker: index, listener: listeners[listener].statisticsIndex, slot, amount)
    }

    // MARK: Ring operations

    func tag(_ kind: OperationKind, _ slotIndex: Int) -> UInt64 {
        OperationTag(kind: kind, slot: UInt32(slotIndex), generation: slots[slotIndex].generation).raw
    }

    /// Queues a one-shot poll for `kind` on the slot's matching socket unless one is already in flight.
    func armPoll(_ slotIndex: Int, _ kind: OperationKind) {
        let slot = slots + slotIndex
        let bit = ArmedOperations(kind)
        if slot.pointee.armed.contains(bit) { return }
        let fd: Int32
        let readiness: Readiness
        switch kind {
        case .pollDownstreamIn: (fd, readiness) = (slot.pointee.downstream, .readable)
        case .pollDownstreamOut: (fd, readiness) = (slot.pointee.downstream, .writable)
        case .pollUpstreamIn: (fd, readiness) = (slot.pointee.upstream, .readable)
        case .pollUpstreamOut: (fd, readiness) = (slot.pointee.upstream, .writable)
        default: return
        }
        events.pollOnce(fd, for: readiness, userData: tag(kind, slotIndex))
        slot.pointee.armed.insert(bit)
    }

    /// Queues a connect of the slot's upstream socket to `address` (which must stay put until submitted).
    func armConnect(_ slotIndex: Int, to address: UnsafePointer<SocketAddress>) {
        slots[slotIndex].armed.insert(.connect)
        events.connect(slots[slotIndex].upstream, to: address, userData: tag(.connect, slotIndex))
    }

    /// Queues the cancellation of a slot's in-flight operation; its completion then arrives with ECANCELED.
    func cancel(_ slotIndex: Int, _ kind: OperationKind) {
        let fd =
            switch kind {
            case .pollDownstreamIn, .pollDownstreamOut: slots[slotIndex].downstream
            default: slots[slotIndex].upstream
            }
        events.cancel(
            tag(kind, slotIndex),
            on: fd,
            poll: kind != .connect,
            userData: OperationTag(kind: .cancel, slot: UInt32(slotIndex)).raw,
            quiet: true
        )
    }

    private func armWake() {
        events.readOnce(wakeFD, into: wakeBuffer, count: 8, userData: OperationTag(kind: .wake, slot: 0).raw)
    }

    private func armTick() {
        events.timeoutOnce(after: tickInterval, userData: OperationTag(kind: .tick, slot: 0).raw)
    }

    /// CLOCK_MONOTONIC, for durations shorter than the coarse clock's few milliseconds (connect times).
    static func preciseNow() -> UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
    }

    static func monotonicNow() -> UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC_COARSE, &spec)
        return UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
    }
}

internal import CLiburing
public import ConvertProtocol
public import Logging
public import PathManager
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The relay's data plane: N worker threads, each with its own io_uring, SO_REUSEPORT listeners and
/// connection table. Start it, read where it listens, stop it, wait for it.
public final class RelayEngine: Sendable {
    /// The settings it was made with.
    public let settings: EngineSettings
    /// Listeners as given, with `DestinationPolicy.ownAddresses` filled in at start.
    public let listeners: [ListenerSpec]
    /// This host's addresses when the engine was made (getifaddrs).
    private let localAddresses: Set<IPAddress>
    private let pathBoard: PathBoard?
    /// The counters of every worker and listener, for metrics.
    public let statistics: RelayStatistics
    /// One per worker: stop and snapshot requests.
    let controls: [WorkerControl]
    let logger: Logger
    let state = Mutex(EngineState())
    /// True while a snapshot is being gathered: one at a time.
    let snapshotGate = Mutex(false)

    struct EngineState {
        var started = false
        /// Stopping: listeners closed, connections draining (`/healthz` answers 503, so balancers move on).
        var draining = false
        var wakeFDs: [Int32] = []
        var bound: [String: Endpoint] = [:]
        /// The listening sockets of each worker, from `openListeners()` until `start()` hands them over.
        var opened: [[(ListenerSpec, Int32)]]?
        var running = 0
        var failure: SystemCallError?
        /// The backend the workers run on (`.ioUring` or `.epoll`), once started.
        var ioBackend: IOBackend?
        /// Every listener entry the workers hold, in their order (reloads append and retire entries).
        var table: [ListenerEntry] = []
        /// Whether convert listeners set TCP_FASTOPEN (decided once, at the first open).
        var serverFastOpen = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    /// An engine for `listeners`; nothing is opened until `start()`.
    ///
    /// With a `pathBoard`, forward and transparent connections leave on the path their subflow policy
    /// picks, and are registered on the board for the path manager.
    public init(settings: EngineSettings, listeners: [ListenerSpec], pathBoard: PathBoard? = nil, logger: Logger) {
        self.settings = settings
        self.pathBoard = pathBoard
        statistics = RelayStatistics(listeners: listeners.map(\.name), workers: max(1, settings.workers))
        controls = (0..<max(1, settings.workers)).map { _ in WorkerControl() }
        self.logger = logger
        let own = Set(LocalAddresses.current())
        localAddresses = own
        self.listeners = listeners.map { RelayEngine.withOwnAddresses($0, own) }
    }

    /// Whether the engine started and every worker thread is still running (for `/healthz`).
    public var isHealthy: Bool {
        state.withLock {
            $0.started && !$0.draining && $0.failure == nil && $0.running == max(1, settings.workers)
        }
    }

    /// The event backend the workers run on (`.ioUring` or `.epoll`); nil before ``start()``.
    public var ioBackend: IOBackend? {
        state.withLock { $0.ioBackend }
    }

    /// Where each listener really listens (port 0 resolved), by listener name.
    public var boundEndpoints: [String: Endpoint] {
        state.withLock { $0.bound }
    }

    /// Whether convert listeners may accept requests in the SYN (TCP_FASTOPEN): only where ``FastOpenProbe``
    /// finds that the kernel's MPTCP Fast Open server keeps to its clients' receive window, which Linux 6.18
    /// does not (downloads stall; docs/RELIABILITY.md, finding 7). Logs what it found, once per start.
    private func serverFastOpenIsSafe() -> Bool {
        let kernel = FastOpenProbe.kernelRelease
        switch FastOpenProbe.run() {
        case .keepsToWindow:
            logger.info(
                "fast_open: convert listeners accept requests in the SYN (this kernel's MPTCP Fast Open server keeps to the client's receive window)",
                metadata: ["kernel": "\(kernel)"]
            )
            return true
        case .sendsPastWindow(let bytes):
            logger.warning(
                "fast_open: convert listeners do not accept requests in the SYN: this kernel's MPTCP Fast Open server sends past the client's receive window, which stalls downloads (a Linux bug, docs/RELIABILITY.md finding 7); gateways use the regular handshake",
                metadata: ["kernel": "\(kernel)", "past_window_bytes": "\(bytes)"]
            )
        case .unknown(let reason):
            logger.warning(
                "fast_open: convert listeners do not accept requests in the SYN: could not check whether this kernel's MPTCP Fast Open server keeps to the client's receive window (Linux 6.18 does not, docs/RELIABILITY.md finding 7); set net.ipv4.tcp_fastopen = 3",
                metadata: ["kernel": "\(kernel)", "reason": "\(reason)"]
            )
        }
        return false
    }

    /// Opens every listener once per worker (what needs privileges: ports below 1024, IP_TRANSPARENT), so
    /// that the process can drop them before ``start()``. Throws, having opened nothing that stays open, when
    /// MPTCP is unavailable or an address cannot be bound. ``start()`` calls it when nobody did.
    public func openListeners() throws(SystemCallError) {
        guard state.withLock({ $0.opened == nil }) else { return }
        // splice() into a socket whose peer is gone raises SIGPIPE (it has no MSG_NOSIGNAL): the errno is
        // what the relay wants, the signal would kill the process.
        signal(SIGPIPE, SIG_IGN)
        if let refusal = SocketCalls.probeMPTCP() {
            logger.error(
                "MPTCP is not available: the kernel refused an IPPROTO_MPTCP socket (check net.mptcp.enabled=1)",
                metadata: ["error": "\(refusal)"]
            )
            throw refusal
        }
        let workerCount = max(1, settings.workers)
        var perWorker: [[(ListenerSpec, Int32)]] = Array(repeating: [], count: workerCount)
        var bound: [String: Endpoint] = [:]
        let serverFastOpen =
            settings.fastOpen && listeners.contains { $0.role.listensWithMPTCP } && serverFastOpenIsSafe()
        do throws(SystemCallError) {
            for spec in listeners {
                let (fds, endpoint) = try openSockets(for: spec, serverFastOpen: serverFastOpen)
                bound[spec.name] = endpoint
                for worker in 0..<workerCount { perWorker[worker].append((spec, fds[worker])) }
            }
        } catch {
            for listenersOfWorker in perWorker { for (_, fd) in listenersOfWorker { close(fd) } }
            throw error
        }
        state.withLock {
            $0.opened = perWorker
            $0.bound = bound
            $0.serverFastOpen = serverFastOpen
        }
    }

    /// One listening socket per worker for `spec` (SO_REUSEPORT), and where they listen (port 0 resolved).
    /// Throws, with none left open, when one cannot be opened.
    func openSockets(
        for spec: ListenerSpec,
        serverFastOpen: Bool
    ) throws(SystemCallError) -> (fds: [Int32], endpoint: Endpoint) {
        var endpoint = spec.listen
        var fds: [Int32] = []
        do throws(SystemCallError) {
            for _ in 0..<max(1, settings.workers) {
                let fd = try SocketCalls.makeListener(
                    endpoint,
                    mptcp: spec.role.listensWithMPTCP,
                    backlog: 4096,
                    transparent: spec.role.listensTransparently
                )
                fds.append(fd)
                if serverFastOpen && spec.role.listensWithMPTCP {
                    // Accept a Convert request carried in the SYN (queue of pending TFO handshakes).
                    try? SocketCalls.setOption(fd, Int32(IPPROTO_TCP), TCP_FASTOPEN, 4096, name: "TCP_FASTOPEN")
                }
                if fds.count == 1, let local = SocketAddress.local(of: fd)?.endpoint {
                    endpoint = local
                }
            }
        } catch {
            for fd in fds { close(fd) }
            if error.errno == EPERM && error.call.contains("TRANSPARENT") {
                logger.error(
                    "a transparent listener needs CAP_NET_ADMIN (for IP_TRANSPARENT): run as root or grant the capability, e.g. systemd AmbientCapabilities=CAP_NET_ADMIN",
                    metadata: ["error": "\(error)"]
                )
            }
            throw error
        }
        return (fds, endpoint)
    }

    /// Opens the listeners (unless ``openListeners()`` did) and starts the workers. Throws, having opened
    /// nothing that stays open, when MPTCP or io_uring is unavailable or an address cannot be bound.
    public func start() throws(SystemCallError) {
        try openListeners()
        let workerCount = max(1, settings.workers)
        let perWorker = state.withLock { state in
            defer { state.opened = [] }
            return state.opened ?? []
        }
        precondition(perWorker.count == workerCount, "RelayEngine.start() called twice")
        state.withLock { state in
            state.table = listeners.indices.map { index in
                ListenerEntry(
                    spec: listeners[index],
                    fds: perWorker.map { $0[index].1 },
                    statisticsIndex: index,
                    open: true
                )
            }
        }
        let backend = chooseIOBackend()
        state.withLock { $0.ioBackend = backend }
        var chosen = settings
        chosen.ioBackend = backend
        let workerSettings = chosen
        let startup = StartupLatch(count: workerCount)
        for worker in 0..<workerCount {
            let wakeFD = eventfd(0, Int32(EFD_CLOEXEC))
            let assigned = perWorker[worker]
            state.withLock {
                $0.wakeFDs.append(wakeFD)
                $0.running += 1
            }
            let logger = logger
            do throws(SystemCallError) {
                _ = try WorkerThread.start(name: "relay-worker-\(worker)") { [self] in
                    runWorker(
                        index: worker,
                        settings: workerSettings,
                        listeners: assigned,
                        wakeFD: wakeFD,
                        logger: logger,
                        startup: startup
                    )
                }
            } catch {
                state.withLock { $0.running -= 1 }
                startup.report(error)
            }
        }
        state.withLock { $0.started = true }
        if let failure = startup.wait() {
            stop()
            throw failure
        }
    }

    private func runWorker(
        index: Int,
        settings: EngineSettings,
        listeners: [(ListenerSpec, Int32)],
        wakeFD: Int32,
        logger: Logger,
        startup: StartupLatch
    ) {
        do throws(SystemCallError) {
            let worker = try Worker(
                index: index,
                settings: settings,
                listeners: listeners,
                localAddresses: localAddresses,
                pathBoard: pathBoard,
                statistics: statistics,
                control: controls[min(index, controls.count - 1)],
                wakeFD: wakeFD,
                logger: logger
            )
            startup.report(nil)
            try worker.run()
        } catch {
            for (_, fd) in listeners { close(fd) }
            logger.error(
                "worker stopped on an error",
                metadata: ["worker": "\(index)", "error": "\(error)"]
            )
            startup.report(error)
            state.withLock { $0.failure = $0.failure ?? error }
            stop()
        }
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.running -= 1
            guard state.running == 0 else { return [] }
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Asks every worker to stop: listeners close, live connections get `drainTimeout` to finish, then
    /// what is left is reset and the threads exit. Returns at once.
    public func stop() {
        let fds = state.withLock { state -> [Int32] in
            state.draining = true
            return state.wakeFDs
        }
        for control in controls { control.stopRequested.store(true, ordering: .releasing) }
        for fd in fds { _ = eventfd_write(fd, 1) }
    }

    /// Like ``stop()``, but without the drain: every live connection is reset now (a second SIGTERM).
    public func stopNow() {
        for control in controls { control.stopNowRequested.store(true, ordering: .releasing) }
        stop()
    }

    /// Every live connection, as each worker describes it when asked (scrape time: the workers build the
    /// list between two batches of completions). Workers that do not answer within `timeout` are left out.
    public func connections(timeout: Duration = .milliseconds(500)) async -> [ConnectionSnapshot] {
        await snapshot(detailed: true, timeout: timeout).connections
    }

    /// What the workers that answer within `timeout` hold: live connections per listener, per path the
    /// live subflows and their bytes and the bytes of closed ones, the pipes; with `detailed`, also every
    /// connection (see ``connections(timeout:)``). One snapshot at a time: a second caller waits for the
    /// first (within its own timeout), so that neither takes the other's answer.
    public func snapshot(detailed: Bool = false, timeout: Duration = .milliseconds(500)) async -> EngineSnapshot {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while !snapshotGate.withLock({ busy in
            if busy { return false }
            busy = true
            return true
        }) {
            guard ContinuousClock.now < deadline else { return EngineSnapshot(connections: [], closedPathBytes: []) }
            try? await Task.sleep(for: .milliseconds(2))
        }
        defer { snapshotGate.withLock { $0 = false } }
        let fds = state.withLock { $0.wakeFDs }
        for (worker, fd) in fds.enumerated() where worker < controls.count {
            _ = controls[worker].takeSnapshot()
            if detailed { controls[worker].detailRequested.store(true, ordering: .releasing) }
            controls[worker].snapshotRequested.store(true, ordering: .releasing)
            _ = eventfd_write(fd, 1)
        }
        var snapshots: [EngineSnapshot?] = Array(repeating: nil, count: fds.count)
        while snapshots.contains(where: { $0 == nil }) && ContinuousClock.now < deadline {
            for worker in snapshots.indices where snapshots[worker] == nil {
                snapshots[worker] = controls[worker].takeSnapshot()
            }
            if snapshots.contains(where: { $0 == nil }) {
                try? await Task.sleep(for: .milliseconds(2))
            }
        }
        var combined = EngineSnapshot(connections: [], closedPathBytes: [])
        for case let snapshot? in snapshots {
            combined.workersAnswered += 1
            combined.connections += snapshot.connections
            combined.pipes.inUse += snapshot.pipes.inUse
            combined.pipes.idle += snapshot.pipes.idle
            EngineSnapshot.add(snapshot.activeByListener, to: &combined.activeByListener)
            EngineSnapshot.add(snapshot.liveSubflowsByPath, to: &combined.liveSubflowsByPath)
            EngineSnapshot.add(snapshot.livePathBytes, to: &combined.livePathBytes)
            EngineSnapshot.add(snapshot.closedPathBytes, to: &combined.closedPathBytes)
            if combined.livePathHealth.count < snapshot.livePathHealth.count {
                combined.livePathHealth += Array(
                    repeating: PathHealthSample(),
                    count: snapshot.livePathHealth.count - combined.livePathHealth.count
                )
            }
            for (path, sample) in snapshot.livePathHealth.enumerated() { combined.livePathHealth[path].add(sample) }
        }
        return combined
    }

    /// Returns when every worker thread has exited; throws the first worker error, if any.
    public func waitUntilStopped() async throws(SystemCallError) {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let resumeNow = state.withLock { state -> Bool in
                if state.running == 0 { return true }
                state.waiters.append(continuation)
                return false
            }
            if resumeNow { continuation.resume() }
        }
        if let failure = state.withLock({ $0.failure }) { throw failure }
    }
}

public import Logging
public import PathManager
public import RelayConfig
public import RelayCore
public import ServiceLifecycle
import UnixSignals

/// The relay engine as a swift-service-lifecycle `Service`: starts the path manager (when paths are
/// configured) and the workers, and on graceful shutdown (SIGTERM, SIGINT) stops them and returns once every
/// thread has exited and the namespace's path manager setting is restored.
///
/// Start-up runs in this order: the path manager opens its netlink sockets and switches the namespace's
/// sysctl, the listeners are bound, then (with `[runtime] user`) root is dropped on this thread, and only
/// then are the path manager's thread and the workers started, from this thread, so that they inherit the
/// capabilities kept (Linux keeps capabilities per thread; see ``PrivilegeDrop``).
public struct RelayService: Service {
    /// The engine this service runs.
    public let engine: RelayEngine
    /// The path manager, when the configuration has paths or announcements.
    public let pathManager: PathManagerService?
    /// The paths the engine places connections on (nil without `[[path]]`).
    public let pathBoard: PathBoard?
    /// The user to switch to once everything that needs root is done (`[runtime] user`).
    public let privilegeDrop: PrivilegeDrop?
    /// The version the "relay started" line names (`mptcp-relay --version`).
    public let version: String
    /// systemd's notify socket (Type=notify); does nothing when not started by systemd.
    public let notifier: ServiceNotifier
    /// Where SIGHUP reloads read the configuration, and what runs now; nil: SIGHUP is not handled.
    let reloads: ReloadState?
    /// The paths' quotas, when a path has one.
    let quotas: QuotaKeeper?
    /// The paths' passive health checks (`[health]`).
    let health: PathHealthKeeper?
    let logger: Logger

    /// A service running `blueprint`; its start line names `version`. With `configuration` and `source`,
    /// SIGHUP reloads: `source` reads the file again and what can change while running is applied.
    public init(
        blueprint: EngineBlueprint,
        version: String = "unknown",
        logger: Logger,
        configuration: RelayConfiguration? = nil,
        source: ConfigurationSource? = nil
    ) {
        if let configuration, let source {
            reloads = ReloadState(source: source, running: configuration)
        } else {
            reloads = nil
        }
        let plan = blueprint.pathPlan
        let board = plan.isManaged ? PathBoard(plan: plan) : nil
        pathManager = board.map { PathManagerService(board: $0, logger: logger) }
        pathBoard = plan.paths.isEmpty ? nil : board
        quotas = board.flatMap { QuotaKeeper(board: $0, stateDirectory: blueprint.stateDirectory, logger: logger) }
        health = pathBoard.flatMap { PathHealthKeeper(board: $0, logger: logger) }
        engine = RelayEngine(
            settings: blueprint.settings,
            listeners: blueprint.listeners,
            pathBoard: pathBoard,
            logger: logger
        )
        privilegeDrop = blueprint.privilegeDrop
        self.version = version
        self.logger = logger
        notifier = ServiceNotifier()
    }

    public func run() async throws {
        quotas?.prime()
        try startPathManager()
        do {
            try engine.openListeners()
            try dropPrivileges()
        } catch {
            pathManager?.restore()
            throw error
        }
        let pathThread = try spawnPathManager()
        defer { stopPathManager(pathThread) }
        let prober = pathBoard.flatMap { board in
            health.flatMap { PathProber(board: board, keeper: $0) }
        }
        let proberThread = try prober?.start()
        defer {
            prober?.stop()
            proberThread?.join()
        }
        try engine.start()
        let sampler = PathSampler(quotas: quotas, health: health)
        let samplerTask = sampler.isNeeded ? Task { await sampler.run(engine: engine) } : nil
        defer {
            // The sampler saves as it ends; this save covers a task that never ran.
            samplerTask?.cancel()
            quotas?.save()
        }
        for spec in engine.listeners {
            let bound = engine.boundEndpoints[spec.name].map { "\($0)" } ?? "\(spec.listen)"
            logger.info(
                "listening",
                metadata: ["listener": "\(spec.name)", "role": "\(spec.role.label)", "address": "\(bound)"]
            )
        }
        logger.info("relay started", metadata: ["version": "\(version)", "workers": "\(engine.settings.workers)"])
        // Trapped before READY=1: from then on a SIGHUP reloads instead of ending the process.
        let reloadTask: Task<Void, Never>? =
            reloads == nil
            ? nil
            : await {
                let hangups = await UnixSignalsSequence(trapping: .sighup)
                return Task { await serveReloads(hangups) }
            }()
        defer { reloadTask?.cancel() }
        // Type=notify: systemd counts the service as started only now, with every listener accepting.
        notifier.notify(
            "READY=1\nSTATUS=relaying: \(engine.listeners.count) listener(s), \(engine.settings.workers) worker(s)"
        )
        try await withTaskCancellationHandler {
            try await withGracefulShutdownHandler {
                try await engine.waitUntilStopped()
            } onGracefulShutdown: {
                logger.info(
                    "stopping: listeners closed, live connections drain (a second SIGTERM resets them now)",
                    metadata: ["drain_timeout": "\(engine.settings.drainTimeout)"]
                )
                notifier.notify("STOPPING=1\nSTATUS=draining live connections")
                engine.stop()
                // The service group stops listening after the first signal: a second one ends the drain.
                Task {
                    for await _ in await UnixSignalsSequence(trapping: .sigterm, .sigint) {
                        logger.info("second stop signal: resetting the connections still draining")
                        engine.stopNow()
                        break
                    }
                }
            }
        } onCancel: {
            // The service group gave up waiting (a second SIGTERM or SIGINT): reset what is left now.
            engine.stopNow()
        }
        logger.info("relay stopped")
    }

    /// Opens the path manager's sockets and takes over the namespace's path management (needs
    /// CAP_NET_ADMIN); does nothing when there is no path manager.
    private func startPathManager() throws {
        guard let pathManager else { return }
        do {
            try pathManager.start()
        } catch {
            logger.error("the path manager could not start", metadata: ["error": "\(error)"])
            pathManager.restore()
            throw error
        }
        logger.info(
            "path manager started",
            metadata: [
                "mode": "\(pathManager.board.plan.mode.rawValue)",
                "paths": "\(pathManager.board.plan.paths.map(\.name).joined(separator: ","))",
            ]
        )
    }

    /// Switches to `[runtime] user` keeping CAP_NET_ADMIN and CAP_NET_BIND_SERVICE, and logs who the relay
    /// runs as; without `user`, only logs it when the relay did not start as root.
    private func dropPrivileges() throws {
        guard let privilegeDrop else {
            let identity = ProcessIdentity.current()
            if identity.uid != 0 {
                logger.info("running without root", metadata: Self.metadata(identity))
            }
            return
        }
        // A clean stop removes the saved path manager setting from this directory, as the new user.
        var handedOver = pathManager == nil ? [] : [PathManagerService.stateDirectory]
        // The quota counts are saved by the new user.
        if let quotas { handedOver.append(quotas.directory) }
        let identity = try privilegeDrop.apply(handingOver: handedOver)
        logger.info("dropped root privileges", metadata: Self.metadata(identity))
    }

    private static func metadata(_ identity: ProcessIdentity) -> Logger.Metadata {
        [
            "user": "\(identity.user)", "uid": "\(identity.uid)", "gid": "\(identity.gid)",
            "capabilities": "\(identity.capabilities)",
        ]
    }

    /// Runs the path manager on its own thread, which also restores the namespace's settings when the loop
    /// ends: that thread has the capabilities the restore needs, also after a drop to `[runtime] user`.
    private func spawnPathManager() throws -> JoinableThread? {
        guard let pathManager else { return nil }
        do {
            return try WorkerThread.spawn(name: "path-manager") {
                pathManager.run()
                pathManager.restore()
            }
        } catch {
            pathManager.restore()
            throw error
        }
    }

    /// Stops the path manager's thread and waits for it (and for its restore).
    private func stopPathManager(_ thread: JoinableThread?) {
        guard let pathManager, let thread else { return }
        pathManager.stop()
        thread.join()
    }
}

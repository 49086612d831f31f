public import Logging
public import PathManager
public import RelayCore
public import ServiceLifecycle

/// The relay engine as a swift-service-lifecycle `Service`: starts the path manager (when paths are
/// configured) and the workers, and on graceful shutdown (SIGTERM, SIGINT) stops them and returns once every
/// thread has exited and the namespace's path manager setting is restored.
public struct RelayService: Service {
    /// The engine this service runs.
    public let engine: RelayEngine
    /// The path manager, when the configuration has paths or announcements.
    public let pathManager: PathManagerService?
    /// The paths the engine places connections on (nil without `[[path]]`).
    public let pathBoard: PathBoard?
    private let logger: Logger

    /// A service running `blueprint`.
    public init(blueprint: EngineBlueprint, logger: Logger) {
        let plan = blueprint.pathPlan
        let board = plan.isManaged ? PathBoard(plan: plan) : nil
        pathManager = board.map { PathManagerService(board: $0, logger: logger) }
        pathBoard = plan.paths.isEmpty ? nil : board
        engine = RelayEngine(
            settings: blueprint.settings,
            listeners: blueprint.listeners,
            pathBoard: pathBoard,
            logger: logger
        )
        self.logger = logger
    }

    public func run() async throws {
        let pathThread = try startPathManager()
        defer { stopPathManager(pathThread) }
        try engine.start()
        for spec in engine.listeners {
            let bound = engine.boundEndpoints[spec.name].map { "\($0)" } ?? "\(spec.listen)"
            logger.info(
                "listening",
                metadata: ["listener": "\(spec.name)", "role": "\(spec.role.label)", "address": "\(bound)"]
            )
        }
        logger.info("relay started", metadata: ["workers": "\(engine.settings.workers)"])
        try await withGracefulShutdownHandler {
            try await engine.waitUntilStopped()
        } onGracefulShutdown: {
            logger.info("stopping: closing listeners and connections")
            engine.stop()
        }
        logger.info("relay stopped")
    }

    /// Starts the path manager on its own thread; nil when there is none.
    private func startPathManager() throws -> JoinableThread? {
        guard let pathManager else { return nil }
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
        do {
            return try WorkerThread.spawn(name: "path-manager") { pathManager.run() }
        } catch {
            pathManager.restore()
            throw error
        }
    }

    /// Stops the path manager's thread, waits for it, and restores the namespace's settings.
    private func stopPathManager(_ thread: JoinableThread?) {
        guard let pathManager, let thread else { return }
        pathManager.stop()
        thread.join()
        pathManager.restore()
    }
}

public import Logging
public import RelayCore
public import ServiceLifecycle

/// The relay engine as a swift-service-lifecycle `Service`: starts the workers, and on graceful
/// shutdown (SIGTERM, SIGINT) stops them and returns once every thread has exited.
public struct RelayService: Service {
    /// The engine this service runs.
    public let engine: RelayEngine
    private let logger: Logger

    /// A service running `blueprint`.
    public init(blueprint: EngineBlueprint, logger: Logger) {
        engine = RelayEngine(settings: blueprint.settings, listeners: blueprint.listeners, logger: logger)
        self.logger = logger
    }

    public func run() async throws {
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
}

import ArgumentParser
import Logging
import MPTCPRelay
import RelayConfig
import RelayCore
import RelayMetrics
import ServiceLifecycle
import UnixSignals

#if canImport(Glibc)
import Glibc
#endif

/// `mptcp-relay run`: starts every listener of a configuration file and runs until SIGTERM or SIGINT;
/// SIGHUP reloads the file.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the relay with every listener the configuration file names.",
        discussion:
            "Stops on SIGTERM or SIGINT: listeners close, live connections get [runtime] drain_timeout (30 s) to finish, the rest are reset, the process exits 0; a second signal resets them at once. Reloads on SIGHUP: the file is read again; listeners, their settings and [[client]] tables change without dropping a connection (live ones keep what they started with); an invalid file changes nothing and each error is logged; [runtime], [[path]], [[policy]] and [metrics] changes wait for a restart."
    )

    @Option(name: .long, help: "The TOML configuration file.")
    var config: String

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    func validate() throws {
        if Logger.Level(rawValue: logLevel) == nil {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical")
        }
    }

    func run() async throws {
        HeapPolicy.apply()
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "mptcp-relay")
        let configuration: RelayConfiguration
        do {
            configuration = try IsolatedConfigLoader.load(path: config)
        } catch {
            for line in IsolatedConfigLoader.lines(error, path: config) { printError(line) }
            throw ExitCode(2)
        }
        for warning in configuration.warnings {
            logger.warning("configuration", metadata: ["warning": "\(warning)"])
        }
        if let user = configuration.runtime.user, geteuid() != 0 {
            printError(
                "\(config): runtime.user: switching to \"\(user)\" needs the relay to start as root, but it runs as uid "
                    + "\(geteuid()): start it as root, or leave user out and start it as that user with CAP_NET_ADMIN "
                    + "and CAP_NET_BIND_SERVICE (setpriv --ambient-caps, systemd AmbientCapabilities=)"
            )
            throw ExitCode(1)
        }
        let path = config
        let service = RelayService(
            blueprint: EngineBlueprint(configuration),
            version: BuildInfo.description,
            logger: logger,
            configuration: configuration,
            source: {
                do throws(IsolatedConfigLoader.Failure) {
                    return .success(try IsolatedConfigLoader.load(path: path))
                } catch {
                    return .failure(ConfigurationLoadFailure(lines: IsolatedConfigLoader.lines(error, path: path)))
                }
            }
        )
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(service: service, successTerminationBehavior: .gracefullyShutdownGroup)
        ]
        if let listen = configuration.metrics.listen {
            let endpoints = MetricsEndpoints(
                engine: service.engine,
                board: service.pathBoard,
                pathManager: service.pathManager
            )
            services.append(
                .init(
                    service: MetricsServer(listen: listen, endpoints: endpoints, logger: logger),
                    successTerminationBehavior: .gracefullyShutdownGroup,
                    failureTerminationBehavior: .gracefullyShutdownGroup
                )
            )
        }
        let group = ServiceGroup(
            configuration: .init(
                services: services,
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        do {
            try await group.run()
        } catch {
            logger.error("relay failed", metadata: ["error": "\(error)"])
            throw ExitCode(1)
        }
    }
}

/// Writes one line to standard error.
func printError(_ line: String) {
    var text = line + "\n"
    text.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
}

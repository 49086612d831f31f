import ClientAuthentication
public import PathManager
public import RelayConfig
public import RelayCore

#if canImport(Glibc)
import Glibc
#endif

/// Turns a validated configuration into what the engine runs: its settings and listener specs.
public struct EngineBlueprint: Sendable, Hashable {
    /// Engine settings from `[runtime]`.
    public var settings: EngineSettings
    /// One spec per `[[listener]]`.
    public var listeners: [ListenerSpec]
    /// The uplinks, subflow policies and path manager mode.
    public var pathPlan: PathPlan
    /// The user to run as once the listeners are bound (`[runtime] user` and `group`), if any.
    public var privilegeDrop: PrivilegeDrop?
    /// Where what must outlive the process is kept (`[runtime] state_directory`): the quota counts.
    public var stateDirectory: String

    /// The blueprint for `configuration`; `workers` defaults to the number of online CPUs.
    public init(_ configuration: RelayConfiguration) {
        let runtime = configuration.runtime
        pathPlan = configuration.pathPlan
        privilegeDrop = runtime.user.map { PrivilegeDrop(user: $0, group: runtime.group) }
        stateDirectory = runtime.stateDirectory
        settings = EngineSettings(
            workers: runtime.workers ?? max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))),
            connectTimeout: runtime.connectTimeout,
            headerTimeout: runtime.headerTimeout,
            idleTimeout: runtime.idleTimeout,
            maxConnectionsPerWorker: runtime.maxConnections,
            pipeSize: runtime.pipeSize,
            dataPath: DataPath(rawValue: runtime.dataPath.rawValue) ?? .auto,
            fastOpen: runtime.fastOpen,
            drainTimeout: runtime.drainTimeout,
            maxPendingHeadersPerWorker: runtime.maxPendingHeaders,
            ioBackend: IOBackend(rawValue: runtime.ioBackend.rawValue) ?? .auto
        )
        settings.maxErrorAnswersPerSecond = runtime.maxErrorAnswers
        settings.keepalive = runtime.keepalive.map {
            TCPKeepalive(idle: Int32($0.idle), interval: Int32($0.interval), count: Int32($0.count))
        }
        // One authenticator for every convert listener that checks clients: one replay cache, one budget per client.
        let authenticator = SharedAuthenticator(
            ClientAuthenticator(
                clients: configuration.clients,
                windowSeconds: UInt64(runtime.cookieWindow),
                replayCacheCapacity: runtime.replayCache
            )
        )
        listeners = configuration.listeners.map { listener in
            let role: EngineRole =
                switch listener.role {
                case .forward(let upstream, let destination):
                    .forward(upstream: upstream, destination: destination)
                case .transparent(let upstream):
                    .transparent(upstream: upstream)
                case .convert(let allow, let backend):
                    .convert(policy: DestinationPolicy(allow: allow), backend: backend)
                }
            return ListenerSpec(
                name: listener.name,
                listen: listener.listen,
                role: role,
                upstreamMark: listener.upstreamMark,
                clientIdentity: listener.clientIdentity,
                authenticator: listener.authenticatesClients ? authenticator : nil
            )
        }
    }
}

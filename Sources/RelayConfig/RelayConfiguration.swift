public import ClientAuthentication
public import PathManager

/// A validated relay configuration: the runtime settings and the listeners to open.
///
/// Build one from a TOML file with ``ConfigLoader/load(path:)``; every value in it has been
/// checked, so the relay can act on it without further validation.
///
/// ```swift
/// let configuration = try ConfigLoader.load(path: "/etc/mptcp-relay/gateway.toml")
/// for listener in configuration.listeners {
///     print(listener.name, listener.role.name, listener.listen)
/// }
/// ```
public struct RelayConfiguration: Sendable, Hashable {
    /// Settings for the worker threads and every relayed connection (the `[runtime]` table).
    public var runtime: RuntimeSettings

    /// The listeners, in the order of their `[[listener]]` tables; never empty once loaded, and
    /// names and `listen` endpoints are unique.
    public var listeners: [ListenerConfiguration]

    /// The side port for `/metrics`, `/healthz` and `/connections` (`[metrics]`).
    public var metrics: MetricsConfiguration

    /// The uplinks (`[[path]]`), the subflow policies (`[[policy]]`) and `[runtime] path_manager`.
    public var pathPlan: PathPlan

    /// The clients a converter knows (`[[client]]`), for listeners with `authentication = "clients"`.
    public var clients: [ClientCredentials]

    /// What is valid but worth a look (`check-config` prints them, `run` logs them); never a reason to stop.
    public var warnings: [ConfigError] = []

    /// Creates a configuration from parts; ``ConfigLoader`` is the validating way to get one.
    public init(
        runtime: RuntimeSettings = RuntimeSettings(),
        metrics: MetricsConfiguration = MetricsConfiguration(),
        listeners: [ListenerConfiguration],
        pathPlan: PathPlan = .unmanaged,
        clients: [ClientCredentials] = []
    ) {
        self.runtime = runtime
        self.metrics = metrics
        self.listeners = listeners
        self.pathPlan = pathPlan
        self.clients = clients
    }
}

public import ConvertProtocol

/// The `[metrics]` table: where the side port with `/metrics`, `/healthz` and `/connections` listens.
public struct MetricsConfiguration: Sendable, Hashable {
    /// The side port's address (`listen`, default `127.0.0.1:9090`); nil when `enabled = false`.
    public var listen: Endpoint?

    /// The default: on, loopback only. Binding another address must be spelled out.
    public static let defaultListen = Endpoint(address: .v4(0x7F00_0001), port: 9090)

    /// A metrics configuration; the default listens on `127.0.0.1:9090`.
    public init(listen: Endpoint? = MetricsConfiguration.defaultListen) {
        self.listen = listen
    }
}

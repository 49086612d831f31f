public import ConvertProtocol
public import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
public import ServiceLifecycle

/// The side port as a swift-service-lifecycle `Service`: binds `listen`, serves ``MetricsEndpoints``
/// until graceful shutdown, then closes.
public struct MetricsServer: Service {
    /// Where to listen.
    public let listen: Endpoint
    /// What to serve.
    public let endpoints: MetricsEndpoints
    private let logger: Logger

    /// A server for `endpoints` on `listen`.
    public init(listen: Endpoint, endpoints: MetricsEndpoints, logger: Logger) {
        self.listen = listen
        self.endpoints = endpoints
        self.logger = logger
    }

    public func run() async throws {
        let endpoints = endpoints
        let host = "\(listen.address)"
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(MetricsHTTPHandler(endpoints: endpoints))
                }
            }
            .bind(host: host, port: Int(listen.port))
            .get()
        logger.info(
            "metrics listening",
            metadata: ["address": "\(listen)", "paths": "/metrics /healthz /connections"]
        )
        // Closed on graceful shutdown, and on cancellation (another service of the group failed).
        await withTaskCancellationHandler {
            await withGracefulShutdownHandler {
                try? await channel.closeFuture.get()
            } onGracefulShutdown: {
                channel.close(promise: nil)
            }
        } onCancel: {
            channel.close(promise: nil)
        }
    }
}

public import ConvertProtocol
import NIOCore
import NIOHTTP1
import NIOPosix

/// A one-request HTTP/1.1 client for a relay's side port (SwiftNIO's encoder and parser), used by
/// `mptcp-relay status`.
public enum MetricsClient {
    /// What went wrong talking to the side port.
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// GETs `path` from `endpoint` and returns the status and body; throws when the port does not answer
    /// within `timeout`.
    public static func get(
        _ endpoint: Endpoint,
        path: String,
        timeoutSeconds: Int64 = 5
    ) async throws -> (status: Int, body: [UInt8]) {
        let timeout = TimeAmount.seconds(timeoutSeconds)
        let group = MultiThreadedEventLoopGroup.singleton
        let promise = group.next().makePromise(of: (Int, [UInt8]).self)
        let channel: any Channel
        do {
            channel = try await ClientBootstrap(group: group)
                .connectTimeout(timeout)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHTTPClientHandlers()
                        try channel.pipeline.syncOperations.addHandler(ResponseCollector(promise: promise))
                    }
                }
                .connect(host: "\(endpoint.address)", port: Int(endpoint.port))
                .get()
        } catch {
            promise.fail(error)
            throw Failure(description: "cannot reach the metrics port \(endpoint): \(error)")
        }
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: "\(endpoint)")
        headers.add(name: "Connection", value: "close")
        let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: path, headers: headers)
        channel.write(HTTPClientRequestPart.head(head), promise: nil)
        channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
        let timer = channel.eventLoop.scheduleTask(in: timeout) {
            promise.fail(Failure(description: "no answer from \(endpoint) within the timeout"))
            channel.close(promise: nil)
        }
        defer { timer.cancel() }
        let (status, body) = try await promise.futureResult.get()
        try? await channel.close()
        return (status, body)
    }
}

/// Collects one HTTP response and fulfils the promise with its status and body.
private final class ResponseCollector: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart

    private let promise: EventLoopPromise<(Int, [UInt8])>
    private var status = 0
    private var body: [UInt8] = []

    init(promise: EventLoopPromise<(Int, [UInt8])>) {
        self.promise = promise
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            status = Int(head.status.code)
        case .body(var buffer):
            body += buffer.readBytes(length: buffer.readableBytes) ?? []
        case .end:
            promise.succeed((status, body))
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        promise.fail(error)
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise.fail(MetricsClient.Failure(description: "the metrics port closed the connection"))
    }
}

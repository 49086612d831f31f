import NIOCore
import NIOHTTP1

/// Serves ``MetricsEndpoints`` over HTTP/1.1 (SwiftNIO's parser and encoder; keep-alive honoured).
final class MetricsHTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let endpoints: MetricsEndpoints
    private var request: HTTPRequestHead?

    init(endpoints: MetricsEndpoints) {
        self.endpoints = endpoints
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            request = head
        case .body:
            break
        case .end:
            guard let head = request else { return }
            request = nil
            let endpoints = endpoints
            let loopBound = NIOLoopBound((context, self), eventLoop: context.eventLoop)
            context.eventLoop.makeFutureWithTask {
                await endpoints.respond(method: head.method.rawValue, target: head.uri)
            }.whenSuccess { response in
                let (context, handler) = loopBound.value
                handler.write(response, for: head, context: context)
            }
        }
    }

    private func write(_ response: MetricsEndpoints.Response, for head: HTTPRequestHead, context: ChannelHandlerContext)
    {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: response.contentType)
        headers.add(name: "Content-Length", value: "\(response.body.count)")
        let keepAlive = head.isKeepAlive
        headers.add(name: "Connection", value: keepAlive ? "keep-alive" : "close")
        let status = HTTPResponseStatus(statusCode: response.status)
        context.write(
            wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))),
            promise: nil
        )
        if head.method != .HEAD {
            context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: response.body)))), promise: nil)
        }
        let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !keepAlive {
            let channel = context.channel
            done.whenComplete { _ in channel.close(promise: nil) }
        }
    }
}

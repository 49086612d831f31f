import ConvertProtocol
import Foundation
public import PathManager
public import RelayCore

/// What the side port answers: `/metrics`, `/healthz` and `/connections`, independent of HTTP plumbing.
public struct MetricsEndpoints: Sendable {
    /// The collector behind `/metrics`.
    public let collector: MetricsCollector
    /// The engine (health and live connections).
    public let engine: RelayEngine
    /// The paths, when managed.
    public let board: PathBoard?
    /// The path manager, for subflow backup flags (relay mode).
    public let pathManager: PathManagerService?

    /// Endpoints over `engine`, with paths from `board` and backup flags from `pathManager`.
    public init(engine: RelayEngine, board: PathBoard?, pathManager: PathManagerService?) {
        self.engine = engine
        self.board = board
        self.pathManager = pathManager
        self.collector = MetricsCollector(engine: engine, board: board)
    }

    /// One answer: status code, content type and body.
    public struct Response: Sendable {
        public var status: Int
        public var contentType: String
        public var body: [UInt8]
    }

    /// The answer to `method` on `target` (the request target, query ignored).
    public func respond(method: String, target: String) async -> Response {
        let path = String(target.prefix { $0 != "?" })
        guard method == "GET" || method == "HEAD" else {
            return Response(status: 405, contentType: "text/plain", body: Array("only GET\n".utf8))
        }
        switch path {
        case "/metrics":
            return Response(
                status: 200,
                contentType: "text/plain; version=0.0.4; charset=utf-8",
                body: await collector.render()
            )
        case "/healthz":
            let healthy = engine.isHealthy
            return Response(
                status: healthy ? 200 : 503,
                contentType: "text/plain",
                body: Array((healthy ? "ok\n" : "unhealthy: listeners or worker threads are not running\n").utf8)
            )
        case "/connections":
            let document = await connectionsDocument()
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            let body = (try? encoder.encode(document)).map { Array($0) } ?? Array("{}".utf8)
            return Response(status: 200, contentType: "application/json", body: body + [0x0A])
        default:
            return Response(
                status: 404,
                contentType: "text/plain",
                body: Array("not found; try /metrics, /healthz or /connections\n".utf8)
            )
        }
    }

    /// The `/connections` document as of now.
    public func connectionsDocument() async -> ConnectionsDocument {
        ConnectionsDocument(
            snapshots: await engine.connections(),
            listenerNames: engine.statistics.listenerNames,
            board: board,
            backups: pathManager?.backupFlags() ?? [:]
        )
    }
}

public import ConvertProtocol
public import PathManager
public import RelayCore

/// The `/connections` JSON document: every live connection with its subflows, and the paths.
public struct ConnectionsDocument: Codable, Sendable, Equatable {
    /// The live connections, oldest first.
    public var connections: [Connection]
    /// The configured paths and whether each is up (empty without `[[path]]`).
    public var paths: [Path]

    /// One live connection.
    public struct Connection: Codable, Sendable, Equatable {
        public var id: String
        public var listener: String
        public var client: String?
        public var destination: String?
        public var ageSeconds: Double
        public var bytesUp: UInt64
        public var bytesDown: UInt64
        public var phase: String
        /// "mptcp", "tcp" (fallback) or nil before it is known.
        public var transport: String?
        public var policy: String?
        public var subflows: [Subflow]

        enum CodingKeys: String, CodingKey {
            case id, listener, client, destination, phase, transport, policy, subflows
            case ageSeconds = "age_seconds"
            case bytesUp = "bytes_up"
            case bytesDown = "bytes_down"
        }
    }

    /// One subflow of a connection.
    public struct Subflow: Codable, Sendable, Equatable {
        public var local: String
        public var remote: String
        /// The path whose source address the subflow uses (nil on a converter, or for no configured path).
        public var path: String?
        /// Whether the relay flagged it backup (relay path manager only; nil when unknown).
        public var backup: Bool?
        public var rttMilliseconds: Double
        public var bytesSent: UInt64
        public var bytesReceived: UInt64

        enum CodingKeys: String, CodingKey {
            case local, remote, path, backup
            case rttMilliseconds = "rtt_ms"
            case bytesSent = "bytes_sent"
            case bytesReceived = "bytes_received"
        }
    }

    /// One configured path.
    public struct Path: Codable, Sendable, Equatable {
        public var name: String
        public var pathClass: String
        public var up: Bool
        /// The path's quota per period, in bytes (absent without one).
        public var quotaBytes: UInt64?
        /// What the path carried in the current period (absent without a quota).
        public var quotaUsedBytes: UInt64?
        /// Whether the health checks find the path degraded (absent without `[health]`).
        public var degraded: Bool?
        /// Whether the path's probes go unanswered, which makes it down (absent without a probe).
        public var unreachable: Bool?
        /// The smoothed share of retransmitted bytes (absent without `[health]`).
        public var lossRatio: Double?
        /// The mean smoothed RTT in milliseconds when the path last carried traffic (absent without `[health]`).
        public var rttMilliseconds: Double?

        enum CodingKeys: String, CodingKey {
            case name, up, degraded, unreachable
            case pathClass = "class"
            case quotaBytes = "quota_bytes"
            case quotaUsedBytes = "quota_used_bytes"
            case lossRatio = "loss_ratio"
            case rttMilliseconds = "rtt_ms"
        }
    }

    /// The document for `snapshots` of `engine`, naming paths from `board` and backup flags from `backups`.
    public init(
        snapshots: [ConnectionSnapshot],
        listenerNames: [String],
        board: PathBoard?,
        backups: [Endpoint: Bool]
    ) {
        connections = snapshots.sorted { $0.ageSeconds > $1.ageSeconds }.map { snapshot in
            Connection(
                id: snapshot.readableID,
                listener: snapshot.listener < listenerNames.count ? listenerNames[snapshot.listener] : "?",
                client: snapshot.client.map { "\($0)" },
                destination: snapshot.destination.map { "\($0)" },
                ageSeconds: (snapshot.ageSeconds * 1000).rounded() / 1000,
                bytesUp: snapshot.bytesUp,
                bytesDown: snapshot.bytesDown,
                phase: snapshot.phase,
                transport: snapshot.multipath.map { $0 ? "mptcp" : "tcp" },
                policy: snapshot.policy.flatMap { index in
                    board.map { index < $0.policyCount ? $0.policy(index).name : "?" }
                },
                subflows: snapshot.subflows.map { subflow in
                    Subflow(
                        local: "\(subflow.local)",
                        remote: "\(subflow.remote)",
                        path: board.flatMap { board in
                            board.path(of: subflow.local.address).map { board.plan.paths[$0].name }
                        },
                        backup: backups[subflow.local],
                        rttMilliseconds: Double(subflow.rttMicroseconds) / 1000,
                        bytesSent: subflow.bytesSent,
                        bytesReceived: subflow.bytesReceived
                    )
                }
            )
        }
        paths =
            board.map { board in
                board.plan.paths.enumerated().map { index, path in
                    Path(
                        name: path.name,
                        pathClass: path.pathClass.rawValue,
                        up: board.isUp(index),
                        quotaBytes: path.quota?.bytes,
                        quotaUsedBytes: path.quota.map { _ in board.quotaUsed(of: index) },
                        degraded: board.plan.health.map { _ in board.degradedPaths & (1 << UInt64(index)) != 0 },
                        unreachable: path.probe.map { _ in board.unreachablePaths & (1 << UInt64(index)) != 0 },
                        lossRatio: board.plan.health.map { _ in board.measurements(of: index).loss },
                        rttMilliseconds: board.plan.health.map { _ in
                            Double(board.measurements(of: index).rttMicroseconds) / 1000
                        }
                    )
                }
            } ?? []
    }
}

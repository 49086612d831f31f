public import ConvertProtocol

/// What the workers answered when asked: their live connections, and the bytes the subflows of their
/// closed connections moved on each path (read at each close), both as of the same moment per worker.
public struct EngineSnapshot: Sendable {
    /// Every live connection of the workers that answered (only when a detailed snapshot was asked for).
    public var connections: [ConnectionSnapshot]
    /// By path index: bytes sent (acknowledged) and received by subflows of connections already closed.
    public var closedPathBytes: [PathByteCount]
    /// The splice pipes of the workers that answered.
    public var pipes: PipeCount
    /// By listener statistics index: live connections.
    public var activeByListener: [Int] = []
    /// By path index: bytes sent (acknowledged) and received so far by the subflows of live connections.
    public var livePathBytes: [PathByteCount] = []
    /// By path index: live subflows.
    public var liveSubflowsByPath: [Int] = []
    /// By path index: what the live subflows' TCP_INFO says of the path's health (bytes sent and
    /// retransmitted, summed RTT).
    public var livePathHealth: [PathHealthSample] = []
    /// How many workers answered in time (0: the figures above are missing, not zero).
    public var workersAnswered = 0

    /// Adds `counts` to `total` element by element, growing `total` as needed.
    static func add(_ counts: [Int], to total: inout [Int]) {
        if total.count < counts.count { total += Array(repeating: 0, count: counts.count - total.count) }
        for (index, count) in counts.enumerated() { total[index] += count }
    }

    /// Adds `counts` to `total` path by path, growing `total` as needed.
    static func add(_ counts: [PathByteCount], to total: inout [PathByteCount]) {
        if total.count < counts.count { total += Array(repeating: PathByteCount(), count: counts.count - total.count) }
        for (path, count) in counts.enumerated() {
            total[path].sent &+= count.sent
            total[path].received &+= count.received
        }
    }

    /// A snapshot from its parts.
    public init(connections: [ConnectionSnapshot], closedPathBytes: [PathByteCount], pipes: PipeCount = PipeCount()) {
        self.connections = connections
        self.closedPathBytes = closedPathBytes
        self.pipes = pipes
    }
}

/// Splice pipes: held by connections (bytes in flight), and idle in the workers' pools (at most 256 per
/// worker are kept for reuse). With no connection open, `inUse` is 0; anything else is a leak.
public struct PipeCount: Sendable, Hashable {
    /// Pipes held by connections.
    public var inUse: Int
    /// Empty pipes kept for reuse.
    public var idle: Int

    /// A count from its parts.
    public init(inUse: Int = 0, idle: Int = 0) {
        self.inUse = inUse
        self.idle = idle
    }
}

/// The live subflows of one path, summed: what passive health checks read (docs/PATH-MANAGER.md, "Health").
public struct PathHealthSample: Sendable, Hashable {
    /// Bytes sent, retransmissions included (tcpi_bytes_sent).
    public var sentBytes: UInt64 = 0
    /// Bytes retransmitted (tcpi_bytes_retrans).
    public var retransmittedBytes: UInt64 = 0
    /// The subflows' smoothed RTTs added up, in microseconds.
    public var rttMicroseconds: UInt64 = 0
    /// How many subflows the sums cover.
    public var subflows = 0

    /// A sample from its parts.
    public init(sentBytes: UInt64 = 0, retransmittedBytes: UInt64 = 0, rttMicroseconds: UInt64 = 0, subflows: Int = 0) {
        self.sentBytes = sentBytes
        self.retransmittedBytes = retransmittedBytes
        self.rttMicroseconds = rttMicroseconds
        self.subflows = subflows
    }

    /// Adds `other`'s sums to these.
    public mutating func add(_ other: PathHealthSample) {
        sentBytes &+= other.sentBytes
        retransmittedBytes &+= other.retransmittedBytes
        rttMicroseconds &+= other.rttMicroseconds
        subflows += other.subflows
    }
}

/// Bytes moved on one path.
public struct PathByteCount: Sendable, Hashable {
    /// Sent and acknowledged by the peer.
    public var sent: UInt64 = 0
    /// Received.
    public var received: UInt64 = 0

    /// A count from its parts.
    public init(sent: UInt64 = 0, received: UInt64 = 0) {
        self.sent = sent
        self.received = received
    }
}

/// One live connection as its worker saw it when asked: for `/connections`, `status` and per-path metrics.
public struct ConnectionSnapshot: Sendable, Hashable {
    /// Unique while the connection lives: worker, slot and generation packed together.
    public var id: UInt64

    /// ``id`` as a person reads and pastes it: `WORKER-SLOT-GENERATION` in decimal, e.g. `1-17-3` (worker 1,
    /// slot 17, the slot's third connection).
    public var readableID: String {
        "\(id >> 48)-\(id & 0x00FF_FFFF)-\((id >> 24) & 0x00FF_FFFF)"
    }
    /// The index of its listener in the engine's listener list.
    public var listener: Int
    /// The accepted side's peer (the LAN client, or the MPTCP client on a converter).
    public var client: Endpoint?
    /// Where the connection goes (the Convert destination, or the backend).
    public var destination: Endpoint?
    /// Seconds since it was accepted.
    public var ageSeconds: Double
    /// Bytes delivered from the accepting side to the dialed side, and back.
    public var bytesUp: UInt64
    public var bytesDown: UInt64
    /// The phase: "connecting", "relaying", …
    public var phase: String
    /// Whether the MPTCP side speaks MPTCP (false: fell back to TCP); nil before it is known.
    public var multipath: Bool?
    /// The index of its subflow policy in the path plan, when paths are managed.
    public var policy: Int?
    /// The MPTCP side's subflows (empty for a TCP fallback or before the connection is up).
    public var subflows: [SubflowSnapshot]

    /// A snapshot from its parts.
    public init(
        id: UInt64,
        listener: Int,
        client: Endpoint?,
        destination: Endpoint?,
        ageSeconds: Double,
        bytesUp: UInt64,
        bytesDown: UInt64,
        phase: String,
        multipath: Bool?,
        policy: Int?,
        subflows: [SubflowSnapshot]
    ) {
        self.id = id
        self.listener = listener
        self.client = client
        self.destination = destination
        self.ageSeconds = ageSeconds
        self.bytesUp = bytesUp
        self.bytesDown = bytesDown
        self.phase = phase
        self.multipath = multipath
        self.policy = policy
        self.subflows = subflows
    }
}

/// One MPTCP subflow of a live connection (MPTCP_FULL_INFO).
public struct SubflowSnapshot: Sendable, Hashable {
    /// Local address and port.
    public var local: Endpoint
    /// Remote address and port.
    public var remote: Endpoint
    /// The kernel's subflow id.
    public var id: UInt32
    /// Smoothed round-trip time, microseconds.
    public var rttMicroseconds: UInt32
    /// Bytes sent and acknowledged by the peer on this subflow.
    public var bytesSent: UInt64
    /// Bytes received on this subflow.
    public var bytesReceived: UInt64

    /// A subflow from its parts.
    public init(
        local: Endpoint,
        remote: Endpoint,
        id: UInt32,
        rttMicroseconds: UInt32,
        bytesSent: UInt64,
        bytesReceived: UInt64
    ) {
        self.local = local
        self.remote = remote
        self.id = id
        self.rttMicroseconds = rttMicroseconds
        self.bytesSent = bytesSent
        self.bytesReceived = bytesReceived
    }
}

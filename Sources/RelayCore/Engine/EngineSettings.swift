public import ClientAuthentication
public import ConvertProtocol

/// Engine-wide settings: how many workers, the timeouts, and the sizes of per-worker tables.
public struct EngineSettings: Sendable, Hashable {
    /// Event-loop threads, each with its own ring and its own listeners.
    public var workers: Int
    /// Deadline for an outbound connect.
    public var connectTimeout: Duration
    /// How long to wait for the peer's Convert header (either side).
    public var headerTimeout: Duration
    /// Close a relayed connection after this long without bytes either way; nil never.
    public var idleTimeout: Duration?
    /// Connections one worker holds at most; more are refused with a reset and a log line.
    public var maxConnectionsPerWorker: Int
    /// Bytes per splice pipe (F_SETPIPE_SZ).
    public var pipeSize: Int
    /// How bytes move between the two sockets.
    public var dataPath: DataPath
    /// TCP Fast Open on the MPTCP hop: TCP_FASTOPEN_CONNECT on upstream sockets, TCP_FASTOPEN on convert
    /// listeners where ``FastOpenProbe`` finds that the kernel keeps to the client's window (Linux 6.18 does
    /// not). Takes effect where net.ipv4.tcp_fastopen allows it (client bit 1, server bit 2).
    public var fastOpen: Bool
    /// On stop, how long live connections may take to finish after the listeners closed; what is left
    /// then is reset. Zero resets at once.
    public var drainTimeout: Duration
    /// Convert listeners: connections still waiting for their Convert header that one worker holds at
    /// most; more are refused at accept (slow or hostile clients cannot take every slot).
    public var maxPendingHeadersPerWorker: Int
    /// Which kernel interface drives the event loops; `MPTCP_RELAY_IO_BACKEND` overrides it.
    public var ioBackend: IOBackend
    /// Convert listeners: Error TLVs one worker sends per second at most (a token bucket as deep as one
    /// second's worth); a refusal beyond them closes without an answer and is counted. 0 sends none.
    public var maxErrorAnswersPerSecond = 1000
    /// TCP keepalive on both sockets of every connection; nil leaves it off.
    public var keepalive: TCPKeepalive? = nil
    /// Lets a converter connect to loopback destinations its `allow` list names, which RFC 8803 (section
    /// 6.2.5) has answered Malformed Message: only for tests that run both relays and the destination in
    /// one process on 127.0.0.1. No configuration key sets it.
    public var loopbackDestinationsForTests = false

    /// Settings with the documented defaults.
    public init(
        workers: Int = 1,
        connectTimeout: Duration = .seconds(10),
        headerTimeout: Duration = .seconds(10),
        idleTimeout: Duration? = .seconds(300),
        maxConnectionsPerWorker: Int = 16384,
        pipeSize: Int = 262_144,
        dataPath: DataPath = .auto,
        fastOpen: Bool = false,
        drainTimeout: Duration = .seconds(30),
        maxPendingHeadersPerWorker: Int = 1024,
        ioBackend: IOBackend = .auto
    ) {
        self.ioBackend = ioBackend
        self.maxPendingHeadersPerWorker = maxPendingHeadersPerWorker
        self.fastOpen = fastOpen
        self.drainTimeout = drainTimeout
        self.dataPath = dataPath
        self.workers = workers
        self.connectTimeout = connectTimeout
        self.headerTimeout = headerTimeout
        self.idleTimeout = idleTimeout
        self.maxConnectionsPerWorker = maxConnectionsPerWorker
        self.pipeSize = pipeSize
    }
}

/// TCP keepalive figures (seconds and probes), applied with SO_KEEPALIVE, TCP_KEEPIDLE, TCP_KEEPINTVL and
/// TCP_KEEPCNT; on an MPTCP socket the kernel applies them to every subflow.
public struct TCPKeepalive: Sendable, Hashable {
    /// Seconds without a received byte before the first probe.
    public var idle: Int32
    /// Seconds between probes.
    public var interval: Int32
    /// Unanswered probes before the connection is declared dead (ETIMEDOUT).
    public var count: Int32

    /// Keepalive with the given figures.
    public init(idle: Int32, interval: Int32, count: Int32) {
        self.idle = idle
        self.interval = interval
        self.count = count
    }
}

/// How a worker moves a connection's bytes; docs/DATA-PATH.md has the measurements.
public enum DataPath: String, Sendable, Hashable {
    /// splice() socket → pipe → socket, nonblocking, issued inline on readiness: zero copy.
    case splice
    /// recv() into the worker's buffer, then send(); only what the sink does not take waits in a pipe.
    case copy
    /// `copy` for small reads, `splice` while a direction moves bulk: a read that fills the whole copy
    /// buffer switches the direction to splice, a splice that finds the source empty switches it back.
    case auto
}

/// One listener as the engine sees it: a name for logs, the address, and what it does with a connection.
public struct ListenerSpec: Sendable, Hashable {
    /// Unique name, used in logs (and later in metrics labels).
    public var name: String
    /// Where to accept; port 0 picks a free port, reported by `RelayEngine.boundEndpoints`.
    public var listen: Endpoint
    /// The listener's role.
    public var role: EngineRole
    /// SO_MARK for the upstream sockets of forward and transparent listeners (needs CAP_NET_ADMIN).
    public var upstreamMark: UInt32?
    /// Forward and transparent: the identity each request's Cookie TLV proves; nil sends no cookie.
    public var clientIdentity: ClientIdentity?
    /// Convert: the check every request's cookie must pass before anything else; nil relays for anyone.
    public var authenticator: SharedAuthenticator?

    /// A listener named `name` on `listen` doing `role`.
    public init(
        name: String,
        listen: Endpoint,
        role: EngineRole,
        upstreamMark: UInt32? = nil,
        clientIdentity: ClientIdentity? = nil,
        authenticator: SharedAuthenticator? = nil
    ) {
        self.name = name
        self.listen = listen
        self.role = role
        self.upstreamMark = upstreamMark
        self.clientIdentity = clientIdentity
        self.authenticator = authenticator
    }
}

/// What a listener does with an accepted connection.
public enum EngineRole: Sendable, Hashable {
    /// Accept plain TCP, open MPTCP to `upstream` (a converter), ask it for `destination` (RFC 8803).
    case forward(upstream: Endpoint, destination: Endpoint)
    /// Accept TPROXY-redirected TCP (the listener has IP_TRANSPARENT); the original destination is the
    /// accepted socket's local address; carry it over MPTCP to `upstream` as with `forward`.
    case transparent(upstream: Endpoint)
    /// Accept MPTCP (or TCP fallback); read the Convert request, or use the fixed `backend` without one;
    /// connect over TCP if `policy` allows; relay.
    case convert(policy: DestinationPolicy, backend: Endpoint?)

    /// The converter a forward or transparent listener dials; nil for convert listeners.
    var upstream: Endpoint? {
        switch self {
        case .forward(let upstream, _), .transparent(let upstream): upstream
        case .convert: nil
        }
    }

    /// Whether the listening socket is IPPROTO_MPTCP.
    var listensWithMPTCP: Bool {
        if case .convert = self { return true }
        return false
    }

    /// Whether the listening socket needs IP_TRANSPARENT.
    var listensTransparently: Bool {
        if case .transparent = self { return true }
        return false
    }
}

/// A ``ClientAuthenticator`` shared by listeners and workers, compared by identity (one per
/// configuration), so that listener specs stay `Hashable`.
public struct SharedAuthenticator: Sendable, Hashable {
    /// The authenticator.
    public let authenticator: ClientAuthenticator

    /// Wraps `authenticator`.
    public init(_ authenticator: ClientAuthenticator) {
        self.authenticator = authenticator
    }

    public static func == (left: SharedAuthenticator, right: SharedAuthenticator) -> Bool {
        left.authenticator === right.authenticator
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(ObjectIdentifier(authenticator))
    }
}

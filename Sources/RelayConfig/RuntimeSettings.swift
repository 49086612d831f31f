/// Settings for the worker threads and every relayed connection: the `[runtime]` table.
///
/// Every field has a default, so the table may be left out entirely.
public struct RuntimeSettings: Sendable, Hashable {
    /// Event-loop worker threads (`workers`, 1...1024); `nil` means one per CPU.
    public var workers: Int?

    /// How long an outbound connect may take before it fails (`connect_timeout`, default 10 s).
    public var connectTimeout: Duration

    /// How long a convert listener waits for a client's Convert header (`header_timeout`, default 10 s).
    public var headerTimeout: Duration

    /// A relayed connection with no bytes in either direction for this long is closed
    /// (`idle_timeout`, default 300 s); `nil` when `idle_timeout = 0` disables the check.
    public var idleTimeout: Duration?

    /// The most connections one worker holds at once (`max_connections`, 1...1_000_000, default 16384).
    public var maxConnections: Int

    /// The capacity in bytes of each splice pipe (`pipe_size`, a power of two in 4096...1048576,
    /// default 262144).
    public var pipeSize: Int

    /// `data_path`: how bytes move between the two sockets of a connection (see docs/DATA-PATH.md).
    public var dataPath: DataPathSetting = .auto

    /// `io_backend`: which kernel interface drives the event loops (see docs/DATA-PATH.md).
    public var ioBackend: IOBackendSetting = .auto

    /// `fast_open`: TCP Fast Open on the MPTCP hop (the Convert request rides in the SYN once the
    /// converter has handed out a cookie; needs net.ipv4.tcp_fastopen = 3 on both hosts to take effect).
    /// Off by default: converters decline it on kernels that stall downloads with it, Linux 6.18 among them
    /// (docs/PROTOCOL.md), so there it gains nothing.
    public var fastOpen = false

    /// `cookie_window`: how far, in seconds, a client's cookie timestamp may be from the converter's
    /// clock either way (1...3600, default 60).
    public var cookieWindow = 60

    /// `drain_timeout`: on SIGTERM, how long live connections may take to finish after the listeners
    /// closed, before what is left is reset (default 30 s; 0 resets at once).
    public var drainTimeout: Duration = .seconds(30)

    /// `max_pending_headers`: per worker, the most connections of convert listeners still waiting for
    /// their Convert header (1...1_000_000, default 1024); more are refused at accept.
    public var maxPendingHeaders = 1024

    /// `max_error_answers`: per worker and second, the most Error TLVs a converter sends (0...1_000_000,
    /// default 1000; 0 sends none); refusals beyond them close without one (RFC 8803: error messages SHOULD
    /// be rate-limited).
    public var maxErrorAnswers = 1000

    /// `replay_cache`: how many accepted cookies a converter remembers within the window (1024...16777216,
    /// default 131072, about 3 MiB): more new requests than that within the window are refused.
    public var replayCache = 131_072

    /// `keepalive`: TCP keepalive on both sockets of every relayed connection, so that a peer that vanished
    /// without a FIN or a reset is noticed even when `idle_timeout` is long or 0; nil (the default) leaves
    /// the sockets without keepalive.
    public var keepalive: KeepaliveSettings?

    /// `user`: the user a relay started as root switches to once its listeners are bound, keeping only
    /// CAP_NET_ADMIN and CAP_NET_BIND_SERVICE; nil to stay who it was started as.
    public var user: String?

    /// `group`: the group it switches to with `user` (default: the user's primary group).
    public var group: String?

    /// `state_directory`: where what must outlive the process is kept (the paths' quota counts).
    public var stateDirectory = "/var/lib/mptcp-relay"

    /// Creates settings; the defaults are those used for keys missing from the `[runtime]` table.
    public init(
        workers: Int? = nil,
        connectTimeout: Duration = .seconds(10),
        headerTimeout: Duration = .seconds(10),
        idleTimeout: Duration? = .seconds(300),
        maxConnections: Int = 16384,
        pipeSize: Int = 262_144
    ) {
        self.workers = workers
        self.connectTimeout = connectTimeout
        self.headerTimeout = headerTimeout
        self.idleTimeout = idleTimeout
        self.maxConnections = maxConnections
        self.pipeSize = pipeSize
    }
}

/// `[runtime] keepalive = { idle = 60, interval = 10, count = 6 }`: after `idle` without a byte received, a
/// probe every `interval`; `count` unanswered probes end the connection (with a reset both ways).
public struct KeepaliveSettings: Sendable, Hashable {
    /// Seconds without a received byte before the first probe (TCP_KEEPIDLE, 1...32767, default 60).
    public var idle: Int
    /// Seconds between probes (TCP_KEEPINTVL, 1...32767, default 10).
    public var interval: Int
    /// Unanswered probes that end the connection (TCP_KEEPCNT, 1...127, default 6).
    public var count: Int

    /// Keepalive with the given figures; the defaults are those of keys left out of the table.
    public init(idle: Int = 60, interval: Int = 10, count: Int = 6) {
        self.idle = idle
        self.interval = interval
        self.count = count
    }
}

/// The `data_path` values.
public enum DataPathSetting: String, Sendable, Hashable, CaseIterable {
    /// Nonblocking splice() through a pipe: zero copy.
    case splice
    /// recv() into a per-worker buffer and send(); a pipe only holds what the sink did not take.
    case copy
    /// copy for small reads, splice while a direction moves bulk (the default).
    case auto
}

/// The `io_backend` values.
public enum IOBackendSetting: String, Sendable, Hashable, CaseIterable {
    /// io_uring where the kernel allows it, epoll where it does not (the default).
    case auto
    /// io_uring or nothing: the relay refuses to start where io_uring is refused.
    case ioUring = "io_uring"
    /// epoll and nonblocking splice, even where io_uring works.
    case epoll
}
